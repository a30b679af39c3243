package main

import (
	"bufio"
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestExtract checks what the generator reads from the source.
func TestExtract(t *testing.T) {
	src, err := load("testdata/svc")
	if err != nil {
		t.Fatal(err)
	}
	metas, imports, err := src.extract([]string{"Calc", "lower"})
	if err != nil {
		t.Fatal(err)
	}
	want := []typeMeta{
		{name: "Calc", methods: []methodMeta{
			{name: "Add", params: []string{"a", "b"}, summary: "Add adds a and b.",
				doc: "Add adds a and b.\n\nReturns their sum, which may overflow.", result: "sum",
				resultDoc: "Returns their sum, which may overflow.",
				invoke:    &invokeMeta{ctx: true, args: []string{"int", "int"}, result: true, err: true}},
			{name: "Area", params: []string{"s", "Shape"}, summary: "Area computes the area.", doc: "Area computes the area.",
				permission: "geometry", invoke: &invokeMeta{args: []string{"Shape", "int"}, result: true}},
			{name: "Decode", params: []string{"raw", "n"}, summary: "Decode takes types of other packages, one imported under another name.",
				doc:    "Decode takes types of other packages, one imported under another name.",
				invoke: &invokeMeta{args: []string{"js.RawMessage", "*big.Int"}, err: true}},
			{name: "Div", params: []string{"x", "y"}, summary: "Div divides.",
				doc:    "Div divides.\n\nDeprecated: use Quo.",
				errors: []errorMeta{{-32001, "division by zero"}, {-32002, "overflow"}}, deprecated: true,
				invoke: &invokeMeta{args: []string{"int", "int"}, result: true, err: true}},
			{name: "Many", params: []string{"xs"}, summary: "Many is variadic: left to reflection.", doc: "Many is variadic: left to reflection."},
			{name: "Raw", params: []string{"", ""}, positional: true, summary: "Raw takes unnamed params.",
				doc: "Raw takes unnamed params.", resultDoc: "Result is what Raw returns.",
				invoke: &invokeMeta{args: []string{"int", "string"}, result: true}},
			{name: "Three", params: []string{}, summary: "Three has more results than a method may: left to reflection.",
				doc: "Three has more results than a method may: left to reflection."},
			{name: "Ticks", params: []string{}, summary: "Ticks is a subscription.", doc: "Ticks is a subscription.",
				resultDoc: "Sub stands for a subscription.", notifies: "*Tick",
				invoke: &invokeMeta{ctx: true, result: true, err: true}},
			{name: "Version", params: []string{}, summary: "Version comes from an embedded type.",
				doc: "Version comes from an embedded type.", invoke: &invokeMeta{result: true}},
		}, types: []typeDocMeta{
			{name: "Inner", doc: "Inner is nested in Shape."},
			{name: "Result", doc: "Result is what Raw returns."},
			{name: "Shape", doc: "Shape is taken by Calc.Area.", fields: []fieldDoc{
				{"W", "W is the width."}, {"H", "H and D share this doc."}, {"D", "H and D share this doc."},
				{"Inner", "the nested part"}}},
			{name: "Sub", doc: "Sub stands for a subscription."},
			{name: "Tag", doc: "Tag is reached through a slice."},
			{name: "Tick", doc: "Tick is what Ticks notifies.", fields: []fieldDoc{{"N", "the count"}}},
		}},
		{name: "lower", methods: []methodMeta{
			{name: "Ping", params: []string{}, summary: "Ping answers.", doc: "Ping answers.", invoke: &invokeMeta{}},
		}},
	}
	if !reflect.DeepEqual(metas, want) {
		t.Errorf("got\n%#v\nwant\n%#v", metas, want)
	}
	if want := map[string]string{"big": "math/big", "js": "encoding/json"}; !reflect.DeepEqual(imports, want) {
		t.Errorf("imports %v, want %v", imports, want)
	}
}

// TestExtractErrors checks the generator's refusals.
func TestExtractErrors(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		types []string
		want  string
	}{
		{"testdata/svc", []string{"Missing"}, "type Missing is not declared in package svc"},
		{"testdata/svc", []string{"Pair"}, "type Pair is generic"},
		{"testdata/none", []string{"X"}, "testdata/none"},
		{"testdata/badnotify", []string{"S"}, "S.Clock: Notifies: time.Time: name a type of this package or a predeclared one"},
	} {
		_, err := Generate(tc.dir, tc.types, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Generate(%s, %v) = %v, want an error with %q", tc.dir, tc.types, err, tc.want)
		}
	}
	if err := run(nil); err == nil {
		t.Error("run without -type succeeded")
	}
}

// TestParseDoc checks the doc comment conventions.
func TestParseDoc(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want docParts
	}{
		{"F does it.\n", docParts{text: "F does it."}},
		{"F does it.\n\nErrors:\n  -1 bad\n  2: good\nAfter.\n",
			docParts{text: "F does it.\n\nAfter.", errors: []errorMeta{{-1, "bad"}, {2, "good"}}}},
		{"F.\n\nReturns the\nanswer.\n\nReturns again.\n", docParts{text: "F.\n\nReturns the\nanswer.\n\nReturns again.", returns: "Returns the answer."}},
		{"F.\n\nDeprecated: no.\n", docParts{text: "F.\n\nDeprecated: no.", deprecated: true}},
		{"F.\n\nNotifies: []T\n", docParts{text: "F.", notifies: "[]T"}},
		{"F.\n\nPermission: admin\n", docParts{text: "F.", permission: "admin"}},
		{"F.\n\nPermission: two words\n", docParts{text: "F.\n\nPermission: two words"}},
		{"Errors:\n", docParts{}},
	} {
		if got := parseDoc(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseDoc(%q) =\n%#v\nwant\n%#v", tc.in, got, tc.want)
		}
	}
}

// TestGeneratedFilesUpToDate regenerates every file that a //go:generate line of the repository
// writes with polyrpc-gen and fails when a committed file differs: run go generate.
func TestGeneratedFilesUpToDate(t *testing.T) {
	const prefix = "//go:generate go run github.com/polyrpc/polyrpc/cmd/polyrpc-gen "
	root, _ := filepath.Abs("../..")
	found := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go"):
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), prefix)
			if !ok {
				continue
			}
			found++
			checkGenerated(t, filepath.Dir(path), strings.Fields(line))
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Error("no //go:generate line runs polyrpc-gen (internal/testservice should)")
	}
}

// checkGenerated compares one generated file with what the generator writes now.
func checkGenerated(t *testing.T, dir string, args []string) {
	t.Helper()
	var types []string
	out := ""
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-type":
			types = strings.Split(args[i+1], ",")
		case "-output":
			out = args[i+1]
		}
	}
	if out == "" {
		out = OutputName(types)
	}
	want, err := Generate(dir, types, args)
	if err != nil {
		t.Errorf("%s: %v", dir, err)
		return
	}
	got, err := os.ReadFile(filepath.Join(dir, out))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is stale (run go generate in %s): %v", filepath.Join(dir, out), dir, err)
	}
}

// TestRun writes a file as go generate would, and checks that it is Go with the generated-code
// header.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/svc/svc.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "svc.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-type", "Calc", "-dir", dir}); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(dir, "calc_rpcmeta.go"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "calc_rpcmeta.go", out, 0); err != nil {
		t.Errorf("the output is not Go: %v\n%s", err, out)
	}
	for _, want := range []string{
		"// Code generated by polyrpc-gen -type Calc -dir ", "; DO NOT EDIT.\n",
		`rpc.RegisterMetadata(reflect.TypeFor[Calc]()`, `Errors: []rpc.ErrorMetadata{`, `"Shape": {`,
		`Notification: reflect.TypeFor[*Tick](),`, `Permission: "geometry",`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}
