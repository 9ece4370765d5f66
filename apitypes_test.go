package webchatid_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestNoThirdPartyTypesInAPI holds the API to DESIGN.md's rule that only
// claims, the JWT layer, may speak jwx: no exported name of any other
// library package (identity above all) has a third-party type in its
// signature, its exported fields or its interface methods, so that callers
// import none of our dependencies and one can change under us unseen.
func TestNoThirdPartyTypesInAPI(t *testing.T) {
	goTool := goTool(t)
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}}|{{.Name}}|{{.Dir}}|{{join .GoFiles \",\"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var checked []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		path, name, dir, files := f[0], f[1], f[2], strings.Split(f[3], ",")
		if name == "main" || path == mod+"/claims" || strings.Contains(path+"/", "/internal/") {
			continue
		}
		checked = append(checked, path)
		for _, file := range files {
			for _, leak := range thirdPartyInAPI(t, filepath.Join(dir, file)) {
				t.Errorf("%s: %s", path, leak)
			}
		}
	}
	if !slices.Contains(checked, mod+"/identity") || len(checked) < 10 {
		t.Fatalf("checked %v; want identity and the other library packages", checked)
	}
}

// thirdPartyInAPI returns the exported declarations of file whose types
// name a package outside the standard library and this module.
func thirdPartyInAPI(t *testing.T, file string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]string{} // local name → import path
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if elems := strings.Split(p, "/"); len(elems) > 1 && strings.HasPrefix(name, "v") && strings.Trim(name[1:], "0123456789") == "" {
			name = elems[len(elems)-2] // github.com/gofrs/uuid/v5 is uuid
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	var leaks []string
	var walk func(what string, n ast.Node)
	walk = func(what string, n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.StructType:
				for _, fld := range n.Fields.List {
					exported := len(fld.Names) == 0 // an embedded field's methods are promoted
					for _, id := range fld.Names {
						exported = exported || id.IsExported()
					}
					if exported {
						walk(what, fld.Type)
					}
				}
				return false
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok {
					if p, ok := imports[id.Name]; ok && thirdParty(p) {
						leaks = append(leaks, what+" uses "+p+"."+n.Sel.Name)
					}
				}
				return false
			}
			return true
		})
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || d.Recv != nil && !exportedReceiver(d.Recv.List[0].Type) {
				continue
			}
			walk(d.Name.Name, d.Type)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						walk(s.Name.Name, s.Type)
					}
				case *ast.ValueSpec:
					for _, id := range s.Names {
						if id.IsExported() {
							if s.Type != nil {
								walk(id.Name, s.Type)
							}
							for _, v := range s.Values {
								walk(id.Name, v)
							}
							break
						}
					}
				}
			}
		}
	}
	return leaks
}

func exportedReceiver(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return false
		}
	}
}

// thirdParty reports whether an import path is neither the standard
// library's (no dot in its first element) nor this module's.
func thirdParty(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return strings.Contains(first, ".") && path != mod && !strings.HasPrefix(path, mod+"/")
}
