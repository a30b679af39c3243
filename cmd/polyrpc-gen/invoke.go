package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/printer"
	"path"
	"strconv"
	"strings"
)

// invokeMeta is what the generated invoker of a method (rpc.MethodMetadata.Invoke) needs: the
// method is then called directly instead of through reflect.Value.Call.
type invokeMeta struct {
	ctx    bool     // a context.Context comes first
	args   []string // the argument types as Go source, the context excluded
	result bool     // a result other than error
	err    bool     // an error result, last
}

// generatedImports are the names the metadata file itself imports.
var generatedImports = map[string]string{
	"context": "context",
	"reflect": "reflect",
	"rpc":     "github.com/polyrpc/polyrpc/rpc",
}

// invoker works out how to call method f directly, recording in imports (name → path) the
// packages its argument types name. It returns nil when the method is better left to
// reflection: a variadic one or one with results Server.Register refuses, and one whose
// argument types cannot be named from the metadata file (its file has a dot import, or a
// qualifier clashes with one another file or the metadata file uses for another package).
func (src *source) invoker(ft *ast.FuncType, file *ast.File, ctxName string, imports map[string]string) *invokeMeta {
	inv := &invokeMeta{}
	switch res := flatten(ft.Results); {
	case len(res) == 0:
	case len(res) == 1:
		inv.err = isError(res[0])
		inv.result = !inv.err
	case len(res) == 2 && !isError(res[0]) && isError(res[1]):
		inv.result, inv.err = true, true
	default:
		return nil
	}
	for _, imp := range file.Imports {
		if imp.Name != nil && imp.Name.Name == "." {
			return nil
		}
	}
	need := map[string]string{}
	for i, t := range flatten(ft.Params) {
		if i == 0 && isContext(t, ctxName) {
			inv.ctx = true
			continue
		}
		if _, ok := t.(*ast.Ellipsis); ok {
			return nil
		}
		if !qualifiers(t, file, need) {
			return nil
		}
		var b bytes.Buffer
		if err := printer.Fprint(&b, src.fset, t); err != nil {
			return nil
		}
		inv.args = append(inv.args, b.String())
	}
	for name, p := range need {
		if q, ok := generatedImports[name]; ok && q != p {
			return nil
		}
		if q, ok := imports[name]; ok && q != p {
			return nil
		}
	}
	for name, p := range need {
		imports[name] = p
	}
	return inv
}

// flatten lists a field list's types, one per parameter or result (a, b int gives int twice).
func flatten(fl *ast.FieldList) []ast.Expr {
	if fl == nil {
		return nil
	}
	var out []ast.Expr
	for _, f := range fl.List {
		for range max(len(f.Names), 1) {
			out = append(out, f.Type)
		}
	}
	return out
}

// qualifiers adds to need the import path of each package that expr names (json in
// json.RawMessage), as file imports it, and reports whether every one was found.
func qualifiers(expr ast.Expr, file *ast.File, need map[string]string) bool {
	ok := true
	ast.Inspect(expr, func(n ast.Node) bool {
		sel, isSel := n.(*ast.SelectorExpr)
		if !isSel {
			return true
		}
		if x, isIdent := sel.X.(*ast.Ident); isIdent {
			p, found := importPath(file, x.Name)
			if !found {
				ok = false
			}
			need[x.Name] = p
		}
		return false
	})
	return ok
}

// importPath finds the import of file that name refers to. An import without a name is matched
// by its path's last element, less a major version suffix (v2) or a .vN ending (gopkg.in's); the
// metadata file imports it under name explicitly, so the match needs no further check.
func importPath(file *ast.File, name string) (string, bool) {
	for _, imp := range file.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		if imp.Name != nil {
			if imp.Name.Name == name {
				return p, true
			}
			continue
		}
		if defaultName(p) == name {
			return p, true
		}
	}
	return "", false
}

// defaultName guesses the package name of an import path: its last element without a major
// version.
func defaultName(p string) string {
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && isNumber(base[1:]) && path.Dir(p) != "." {
		base = path.Base(path.Dir(p))
	}
	if i := strings.Index(base, ".v"); i > 0 && isNumber(base[i+2:]) {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && s != ""
}

// renderInvoke writes the Invoke field of a method of type typ.
func renderInvoke(b *bytes.Buffer, typ, method string, inv *invokeMeta) {
	args := make([]string, 0, len(inv.args)+1)
	if inv.ctx {
		args = append(args, "ctx_")
	}
	for i, t := range inv.args {
		args = append(args, fmt.Sprintf("*args_[%d].(*%s)", i, t))
	}
	call := fmt.Sprintf("rcvr_.(*%s).%s(%s)", typ, method, strings.Join(args, ", "))
	// The parameters end in _ so that they cannot hide a type of the package that the
	// argument types name.
	b.WriteString("\t\t\tInvoke: func(rcvr_ any, ctx_ context.Context, args_ []any) (any, error) {\n")
	switch {
	case inv.result && inv.err:
		fmt.Fprintf(b, "\t\t\t\treturn %s\n", call)
	case inv.result:
		fmt.Fprintf(b, "\t\t\t\treturn %s, nil\n", call)
	case inv.err:
		fmt.Fprintf(b, "\t\t\t\treturn nil, %s\n", call)
	default:
		fmt.Fprintf(b, "\t\t\t\t%s\n\t\t\t\treturn nil, nil\n", call)
	}
	b.WriteString("\t\t\t},\n")
}
