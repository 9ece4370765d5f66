package webchatid_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReadmeGoBlocksComeFromBuiltFiles keeps the README honest: every Go
// block in it must appear, byte for byte, in a .go file of this module, so
// the code a newcomer copies is code that CI compiles and tests.
func TestReadmeGoBlocksComeFromBuiltFiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	walkGoFiles(t, func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sources = append(sources, string(b))
		return nil
	})

	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block; the quick start is missing")
	}
	for i, block := range blocks {
		found := false
		for _, src := range sources {
			if strings.Contains(src, block) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README.md Go block %d is not in any .go file of the module (copy it from the source again):\n%s", i+1, block)
		}
	}
}

func goBlocks(md string) []string {
	var blocks []string
	for {
		start := strings.Index(md, "```go\n")
		if start < 0 {
			return blocks
		}
		md = md[start+len("```go\n"):]
		end := strings.Index(md, "```")
		if end < 0 {
			return blocks
		}
		blocks = append(blocks, md[:end])
		md = md[end+3:]
	}
}

// TestPackageTablesMatchTheTree keeps the README's package table and the
// package list in doc.go in step with the packages that exist: every
// package outside internal/ is in both, and neither names one that is gone;
// every internal package is named in the README's list of them.
func TestPackageTablesMatchTheTree(t *testing.T) {
	goTool := goTool(t)
	out, err := exec.Command(goTool, "list", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, mod), "/")
		if rel == "" || rel == "internal" || strings.HasPrefix(rel, "internal/") || strings.Contains(rel, "/internal/") {
			if rel != "" && !strings.Contains(string(readme), "`"+rel+"` (") {
				t.Errorf("README.md's list of internal packages lacks `%s` (what it is for)", rel)
			}
			continue
		}
		pkgs = append(pkgs, rel)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			if name, _, ok := strings.Cut(rest, "` |"); ok && !strings.Contains(name, " ") {
				listed[name] = true
			}
		}
	}
	for _, p := range pkgs {
		if !listed[p] {
			t.Errorf("README.md's package table lacks %s", p)
		}
		delete(listed, p)
		if !strings.Contains(string(doc), "["+mod+"/"+p+"]") {
			t.Errorf("doc.go's package list lacks [%s/%s]", mod, p)
		}
	}
	for name := range listed {
		if strings.Contains(name, "/") || name == "identity" || name == "claims" || name == "cookie" {
			t.Errorf("README.md's package table names %s, which is not a package of the module", name)
		}
	}
}
