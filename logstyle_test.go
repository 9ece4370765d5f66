package webchatid_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestOneLoggingStyle holds the module's code (library, commands and
// examples) to STYLE.md's one logging style: every line goes through
// Logger.LogAttrs with typed attributes, never the key-value sugar (Info,
// Warn, …), and an error's attribute is "error", never "err".
func TestOneLoggingStyle(t *testing.T) {
	sugar := map[string]bool{
		"Debug": true, "Info": true, "Warn": true,
		"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true,
	}
	fset := token.NewFileSet()
	var files int
	walkGoFiles(t, func(path string) error {
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			name := sel.Sel.Name
			if sugar[name] || name == "Error" && isLogger(sel.X) {
				t.Errorf("%s: %s.%s: log with LogAttrs and typed attributes", fset.Position(call.Pos()), exprName(sel.X), name)
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "slog" && len(call.Args) > 0 {
				if lit, ok := call.Args[0].(*ast.BasicLit); ok {
					if key, _ := strconv.Unquote(lit.Value); key == "err" {
						t.Errorf("%s: slog.%s(%q, …): an error's attribute is \"error\"", fset.Position(call.Pos()), name, key)
					}
				}
			}
			return true
		})
		return nil
	})
	if files < 50 {
		t.Fatalf("read %d Go files, want the module's (more than 50)", files)
	}
}

// isLogger reports whether x looks like a logger: slog itself, a variable
// or field named like one (log, logger, s.log), or a call of a method so
// named (s.log(), c.logger()). Error is also testing's and errors', so only
// these receivers count for it.
func isLogger(x ast.Expr) bool {
	if call, ok := x.(*ast.CallExpr); ok {
		x = call.Fun
	}
	switch x := x.(type) {
	case *ast.Ident:
		return x.Name == "slog" || x.Name == "log" || x.Name == "logger"
	case *ast.SelectorExpr:
		return x.Sel.Name == "log" || x.Sel.Name == "logger" || x.Sel.Name == "Logger"
	}
	return false
}

func exprName(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprName(x.X) + "." + x.Sel.Name
	case *ast.CallExpr:
		return exprName(x.Fun) + "()"
	}
	return "…"
}
