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
