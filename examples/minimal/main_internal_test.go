package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestServerHasTimeouts: the README copies this program, so it must not
// teach http.ListenAndServe, whose server has no timeouts (a slow client
// holds a connection forever).
func TestServerHasTimeouts(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Name == "http" && (n.Sel.Name == "ListenAndServe" || n.Sel.Name == "ListenAndServeTLS") {
				t.Errorf("main.go calls http.%s, a server without timeouts", n.Sel.Name)
			}
		case *ast.CompositeLit:
			if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Server" {
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						fields[kv.Key.(*ast.Ident).Name] = true
					}
				}
			}
		}
		return true
	})
	for _, f := range []string{"ReadHeaderTimeout", "ReadTimeout", "WriteTimeout", "IdleTimeout"} {
		if !fields[f] {
			t.Errorf("the http.Server in main.go does not set %s", f)
		}
	}
}
