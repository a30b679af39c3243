package main

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"slices"
	"strings"
)

// typeDocMeta mirrors rpc.TypeMetadata.
type typeDocMeta struct {
	name   string
	doc    string
	fields []fieldDoc // in declaration order
}

type fieldDoc struct{ name, doc string }

// typeDocs documents the package's types that the methods take and return, directly or through
// fields, pointers, slices and maps, leaving out those in seen (documented already) and those
// without any doc.
func (src *source) typeDocs(exprs []ast.Expr, seen map[string]bool) []typeDocMeta {
	var out []typeDocMeta
	var visit func(ast.Expr)
	visit = func(expr ast.Expr) {
		ast.Inspect(expr, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				return false // a type of another package
			case *ast.Field:
				visit(n.Type) // not its names
				return false
			}
			id, ok := n.(*ast.Ident)
			if !ok || seen[id.Name] {
				return true
			}
			dt := src.declared(id.Name)
			if dt == nil {
				return true
			}
			seen[id.Name] = true
			td := typeDocMeta{name: id.Name, doc: strings.TrimSpace(dt.Doc)}
			if ts, ok := dt.Decl.Specs[0].(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					td.fields = fieldDocs(st)
				}
				visit(ts.Type)
			}
			if td.doc != "" || len(td.fields) > 0 {
				out = append(out, td)
			}
			return true
		})
	}
	for _, e := range exprs {
		visit(e)
	}
	slices.SortFunc(out, func(a, b typeDocMeta) int { return strings.Compare(a.name, b.name) })
	return out
}

// notificationType parses the type of a "Notifies:" line. The generated file imports only
// reflect and rpc, so the type must be the package's own or a predeclared one, possibly behind
// pointers, slices, arrays and maps.
func notificationType(text string) (ast.Expr, error) {
	e, err := parser.ParseExpr(text)
	if err != nil {
		//lint:ignore ST1005 the message starts with the doc comment's "Notifies:" keyword
		return nil, fmt.Errorf("Notifies: %s: not a type: %v", text, err)
	}
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.Ident, *ast.StarExpr, *ast.ArrayType, *ast.MapType, *ast.BasicLit, nil:
			return true
		}
		ok = false
		return false
	})
	if !ok {
		//lint:ignore ST1005 the message starts with the doc comment's "Notifies:" keyword
		return nil, fmt.Errorf("Notifies: %s: name a type of this package or a predeclared one", text)
	}
	return e, nil
}

// declared returns the package's type of that name, or nil.
func (src *source) declared(name string) *doc.Type {
	for _, t := range src.pkg.Types {
		if t.Name == name && len(t.Decl.Specs) > 0 {
			return t
		}
	}
	return nil
}

// fieldDocs returns the doc comments of a struct's named fields: the comment above a field, or
// else the one after it on its line.
func fieldDocs(st *ast.StructType) []fieldDoc {
	var out []fieldDoc
	for _, f := range st.Fields.List {
		cg := f.Doc
		if cg == nil {
			cg = f.Comment
		}
		text := strings.TrimSpace(cg.Text()) // a nil group's text is ""
		if text == "" {
			continue
		}
		for _, n := range f.Names {
			out = append(out, fieldDoc{n.Name, text})
		}
	}
	return out
}
