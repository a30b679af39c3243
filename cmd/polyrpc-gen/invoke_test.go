package main

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
)

// TestGeneratedTypeChecks type-checks the file written for testdata/svc together with the
// package: the invokers must call each method with its argument types, under the import names
// the source uses.
func TestGeneratedTypeChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the rpc package from source")
	}
	out, err := Generate("testdata/svc", []string{"Calc", "lower"}, []string{"-type", "Calc,lower"})
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	svc, err := parser.ParseFile(fset, "testdata/svc/svc.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := parser.ParseFile(fset, "calc_rpcmeta.go", out, 0)
	if err != nil {
		t.Fatalf("the output is not Go: %v\n%s", err, out)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check("svc", fset, []*ast.File{svc, gen}, nil); err != nil {
		t.Fatalf("the output does not type-check: %v\n%s", err, out)
	}
}

// TestDefaultName checks the guess of a package's name from its import path.
func TestDefaultName(t *testing.T) {
	for path, want := range map[string]string{
		"math/big":                    "big",
		"github.com/go-chi/chi/v5":    "chi",
		"gopkg.in/natefinch/npipe.v2": "npipe",
		"example.com/go-thing":        "go_thing",
		"v2":                          "v2",
	} {
		if got := defaultName(path); got != want {
			t.Errorf("defaultName(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestInvokerImportClash: when two files import different packages under one name, the
// generated file can name only one of them; the method that needs the other is left to
// reflection, whichever service type it belongs to.
func TestInvokerImportClash(t *testing.T) {
	src, err := load("testdata/clash")
	if err != nil {
		t.Fatal(err)
	}
	metas, imports, err := src.extract([]string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	if inv := metas[0].methods[0].invoke; inv == nil || inv.args[0] != "*x.Int" {
		t.Errorf("A.M's invoker: %+v, want one taking *x.Int", inv)
	}
	if inv := metas[1].methods[0].invoke; inv != nil {
		t.Errorf("B.N has an invoker (%+v), though x already names math/big", inv)
	}
	if imports["x"] != "math/big" {
		t.Errorf("imports %v, want x for math/big only", imports)
	}
}
