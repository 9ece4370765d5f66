package webchatid_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestFileNames holds every test file to the house rule: an in-package
// test (package x, package main included) is named *_internal_test.go, and a
// black-box one (package x_test) is not, so that a file's name says whether
// it may touch unexported names.
func TestTestFileNames(t *testing.T) {
	fset := token.NewFileSet()
	var seen int
	walkGoFiles(t, func(path string) error {
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly)
		if err != nil {
			return err
		}
		seen++
		path = filepath.ToSlash(path)
		internal := !strings.HasSuffix(f.Name.Name, "_test")
		named := strings.HasSuffix(path, "_internal_test.go")
		switch {
		case internal && !named:
			t.Errorf("%s is in package %s (in-package): name it *_internal_test.go", path, f.Name.Name)
		case !internal && named:
			t.Errorf("%s is in package %s (black-box): drop _internal from its name", path, f.Name.Name)
		}
		return nil
	})
	if seen < 50 {
		t.Fatalf("found %d test files, want the module's (more than 50)", seen)
	}
}
