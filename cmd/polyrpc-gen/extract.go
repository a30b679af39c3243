package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// typeMeta is the metadata of one service type.
type typeMeta struct {
	name    string
	methods []methodMeta  // sorted by name
	types   []typeDocMeta // sorted by name
}

// methodMeta mirrors rpc.MethodMetadata.
type methodMeta struct {
	name       string
	params     []string
	positional bool
	summary    string
	doc        string
	result     string
	resultDoc  string
	errors     []errorMeta
	deprecated bool
	notifies   string      // a Go type expression: the subscription's notifications
	permission string      // the permission a caller needs
	invoke     *invokeMeta // nil: left to reflection
}

type errorMeta struct {
	code    int
	message string
}

// source is a parsed package.
type source struct {
	fset  *token.FileSet
	name  string // package name
	files []*ast.File
	pkg   *doc.Package
}

// load parses the Go files of the package in dir that the current build context selects, test
// files excluded.
func load(dir string) (*source, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		return nil, err
	}
	src := &source{fset: token.NewFileSet(), name: bp.Name}
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(src.fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		src.files = append(src.files, f)
	}
	src.pkg, err = doc.NewFromFiles(src.fset, src.files, bp.ImportPath, doc.AllDecls|doc.AllMethods|doc.PreserveAST)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// extract reads the metadata of the named types, and the packages (name → path) that the
// argument types of their invokers name: one set for the whole file, so that no two methods
// use one name for two packages.
func (src *source) extract(names []string) ([]typeMeta, map[string]string, error) {
	var out []typeMeta
	imports := map[string]string{}
	documented := make(map[string]bool) // types documented by an earlier service of the file
	for _, name := range names {
		dt := src.declared(name)
		if dt == nil {
			return nil, nil, fmt.Errorf("type %s is not declared in package %s", name, src.name)
		}
		if ts, ok := dt.Decl.Specs[0].(*ast.TypeSpec); ok && ts.TypeParams != nil {
			return nil, nil, fmt.Errorf("type %s is generic: only plain types are supported", name)
		}
		tm := typeMeta{name: name}
		var exprs []ast.Expr // the methods' signatures and notification types
		for _, f := range dt.Methods {
			if !ast.IsExported(f.Name) {
				continue
			}
			m := src.method(f, imports)
			exprs = append(exprs, f.Decl.Type)
			if m.notifies != "" {
				e, err := notificationType(m.notifies)
				if err != nil {
					return nil, nil, fmt.Errorf("%s.%s: %w", name, f.Name, err)
				}
				exprs = append(exprs, e)
			}
			tm.methods = append(tm.methods, m)
		}
		tm.types = src.typeDocs(exprs, documented)
		slices.SortFunc(tm.methods, func(a, b methodMeta) int { return strings.Compare(a.name, b.name) })
		out = append(out, tm)
	}
	if len(out) == 0 {
		return nil, nil, errors.New("no types given")
	}
	return out, imports, nil
}

// method reads one method's declaration and doc comment, adding to imports the packages its
// invoker needs.
func (src *source) method(f *doc.Func, imports map[string]string) methodMeta {
	m := methodMeta{name: f.Name}
	ft := f.Decl.Type
	file := src.fileOf(f.Decl.Pos())
	ctxName := contextImport(file)
	m.invoke = src.invoker(ft, file, ctxName, imports)
	for i, field := range ft.Params.List {
		if i == 0 && isContext(field.Type, ctxName) {
			m.params = append(m.params, namesOf(field)[1:]...) // the first is the context
			continue
		}
		m.params = append(m.params, namesOf(field)...)
	}
	if m.params == nil {
		m.params = []string{}
	}
	if ft.Results != nil && len(ft.Results.List) > 0 && len(ft.Results.List[0].Names) > 0 {
		if n := ft.Results.List[0].Names[0].Name; n != "_" && !isError(ft.Results.List[0].Type) {
			m.result = n
		}
	}
	if f.Decl.Doc != nil {
		for _, c := range f.Decl.Doc.List {
			if strings.TrimSpace(c.Text) == "//polyrpc:positional" {
				m.positional = true
			}
		}
	}
	src.readDoc(&m, f)
	return m
}

// readDoc fills in the summary, description, result doc, errors, deprecation and permission.
func (src *source) readDoc(m *methodMeta, f *doc.Func) {
	d := parseDoc(f.Doc)
	m.doc, m.errors, m.deprecated, m.resultDoc, m.notifies = d.text, d.errors, d.deprecated, d.returns, d.notifies
	m.permission = d.permission
	m.summary = src.pkg.Synopsis(d.text)
	if m.resultDoc == "" && f.Decl.Type.Results != nil && len(f.Decl.Type.Results.List) > 0 {
		m.resultDoc = src.typeDoc(f.Decl.Type.Results.List[0].Type)
	}
}

// typeDoc is the first sentence of the doc of a type declared in the package, or "".
func (src *source) typeDoc(expr ast.Expr) string {
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
			continue
		case *ast.Ident:
			if t := src.declared(e.Name); t != nil {
				return src.pkg.Synopsis(t.Doc)
			}
		}
		return ""
	}
}

// fileOf returns the file that holds pos.
func (src *source) fileOf(pos token.Pos) *ast.File {
	for _, f := range src.files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return f
		}
	}
	return &ast.File{}
}

// contextImport returns the name under which file imports "context", or "".
func contextImport(file *ast.File) string {
	for _, imp := range file.Imports {
		if imp.Path.Value != `"context"` {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return "context"
	}
	return ""
}

func isContext(expr ast.Expr, ctxName string) bool {
	sel, ok := expr.(*ast.SelectorExpr)
	if !ok || ctxName == "" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == ctxName && sel.Sel.Name == "Context"
}

func isError(expr ast.Expr) bool {
	id, ok := expr.(*ast.Ident)
	return ok && id.Name == "error"
}

// namesOf returns the names a parameter field declares: "" for an unnamed one.
func namesOf(field *ast.Field) []string {
	if len(field.Names) == 0 {
		return []string{""}
	}
	names := make([]string, len(field.Names))
	for i, n := range field.Names {
		names[i] = n.Name
	}
	return names
}
