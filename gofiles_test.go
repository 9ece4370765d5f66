package webchatid_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// walkGoFiles calls visit with the path of every .go file of the module,
// test files included, skipping hidden directories, testdata and
// node_modules; the repository-wide checks share it so they read the same
// files. An error from the walk or from visit fails the test.
func walkGoFiles(t *testing.T, visit func(path string) error) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		return visit(path)
	})
	if err != nil {
		t.Fatal(err)
	}
}
