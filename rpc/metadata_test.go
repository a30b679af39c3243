package rpc_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
)

// mdSvc has generated-style metadata registered below.
type mdSvc struct{}

func (mdSvc) Add(a, b int) int                            { return a + b }
func (mdSvc) Neg(ctx context.Context, x int) int          { return -x }
func (mdSvc) Pos(x, y int) int                            { return x }
func (mdSvc) Anon(int, string) bool                       { return true }
func (mdSvc) Point(p struct{ X, Y int }) int              { return p.X }
func (*mdSvc) Ptr(s string) string                        { return s }
func (mdSvc) Fails() error                                { return nil }
func (mdSvc) Opt(a int, b *int) int                       { return a }
func (mdSvc) Sub(ctx context.Context, n int) (int, error) { return n, nil }
func (mdSvc) Area(s mdShape, unit mdUnit) float64         { return s.W * s.H }

type mdShape struct {
	W float64 `json:"w"`
	H float64
}

type mdUnit string

var mdMeta = rpc.ServiceMetadata{Methods: map[string]rpc.MethodMetadata{
	"Add":   {Params: []string{"a", "b"}, Summary: "Add adds.", Doc: "Add adds.\n\nMore."},
	"Neg":   {Params: []string{"x"}, Result: "negated", ResultDoc: "minus x"},
	"Pos":   {Params: []string{"x", "y"}, Positional: true},
	"Anon":  {Params: []string{"", ""}},
	"Point": {Params: []string{"p"}},
	"Ptr":   {Params: []string{"s"}},
	"Fails": {Params: []string{}, Errors: []rpc.ErrorMetadata{{Code: -32042, Message: "why"}}, Deprecated: true},
	"Opt":   {Params: []string{"a", "b"}},
	"Area":  {Params: []string{"s", "unit"}},
}, Types: map[string]rpc.TypeMetadata{
	"mdShape": {Doc: "A rectangle.", Fields: map[string]string{"W": "the width"}},
	"mdUnit":  {Doc: "A unit of length."},
}}

func init() { rpc.RegisterMetadata(reflect.TypeFor[mdSvc](), mdMeta) }

// TestMetadataNames checks where by-name params come from: generated names, unless explicit
// names are given, the method is positional only, its names are unknown, or its only argument
// is a struct.
func TestMetadataNames(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if err := srv.Register("md", &mdSvc{}, rpc.WithParamNames("Ptr", "str")); err != nil {
		t.Fatal(err)
	}
	c := ctDialServer(t, srv)
	for _, tc := range []struct {
		method string
		params any
		ok     bool
	}{
		{"md_add", map[string]int{"a": 1, "b": 2}, true},           // generated names
		{"md_neg", map[string]int{"x": 1}, true},                   // context excluded
		{"md_pos", map[string]int{"x": 1, "y": 2}, false},          // positional only
		{"md_anon", map[string]any{"arg0": 1, "arg1": "s"}, false}, // unnamed: positional only
		{"md_point", map[string]int{"X": 1, "Y": 2}, true},         // struct fields, not "p"
		{"md_ptr", map[string]string{"str": "v"}, true},            // explicit names win
		{"md_ptr", map[string]string{"s": "v"}, false},
		{"md_opt", map[string]int{"a": 1}, true}, // a pointer may be left out
	} {
		var res json.RawMessage
		err := c.CallNamed(ctCtx(t), &res, tc.method, tc.params)
		if (err == nil) != tc.ok {
			t.Errorf("%s %v: err = %v, want ok=%v", tc.method, tc.params, err, tc.ok)
		}
	}
}

// TestMetadataDocument checks what the metadata puts into the document.
func TestMetadataDocument(t *testing.T) {
	srv := rpc.NewServer(&rpc.Options{Name: "md", Version: "1.2.3"})
	t.Cleanup(srv.Stop)
	if err := srv.Register("md", &mdSvc{}); err != nil {
		t.Fatal(err)
	}
	raw, err := srv.OpenRPC([]string{"md"})
	if err != nil {
		t.Fatal(err)
	}
	type param struct {
		Name     string `json:"name"`
		Required bool   `json:"required"`
	}
	var doc struct {
		Info    struct{ Title, Version string }
		Methods []struct {
			Name, Summary, Description, ParamStructure string
			Params                                     []param
			Result                                     struct{ Name, Description string }
			Errors                                     []struct {
				Code    int
				Message string
			}
			Deprecated bool
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Title != "md" || doc.Info.Version != "1.2.3" {
		t.Errorf("info = %+v", doc.Info)
	}
	got := make(map[string]string)
	for _, m := range doc.Methods {
		s := m.ParamStructure + " " + m.Result.Name
		for _, p := range m.Params {
			s += " " + p.Name
			if p.Required {
				s += "!"
			}
		}
		if m.Summary != "" {
			s += " | " + m.Summary + " | " + m.Description
		}
		if m.Result.Description != "" {
			s += " | " + m.Result.Description
		}
		for _, e := range m.Errors {
			s += " | " + e.Message
		}
		if m.Deprecated {
			s += " | deprecated"
		}
		got[m.Name] = s
	}
	for name, want := range map[string]string{
		"md_add":   "either result a! b! | Add adds. | Add adds.\n\nMore.",
		"md_neg":   "either negated x! | minus x",
		"md_pos":   "by-position result x! y!",
		"md_anon":  "by-position result arg0! arg1!",
		"md_point": "by-name result X! Y!",
		"md_ptr":   "either result s!",
		"md_fails": "either result | why | deprecated",
		"md_opt":   "either result a! b",
		"md_sub":   "by-position result arg0!", // no metadata
		"md_area":  "either result s! unit!",
	} {
		if got[name] != want {
			t.Errorf("%s:\n got %q\nwant %q", name, got[name], want)
		}
	}
	// Type docs describe the schemas: a struct's definition, its fields, a named type inline.
	for _, want := range []string{
		`"mdShape":{"type":"object","description":"A rectangle.","properties":{"H":{"type":"number"},"w":{"type":"number","description":"the width"}}`,
		`{"name":"unit","required":true,"schema":{"type":"string","description":"A unit of length."}}`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the document lacks %s", want)
		}
	}
}

// TestMetadataStale checks that metadata which no longer fits the code fails registration with
// a message naming the type, the method and the mismatch.
func TestMetadataStale(t *testing.T) {
	type svc struct{ mdSvc }
	for _, tc := range []struct {
		name string
		md   rpc.ServiceMetadata
		opts []rpc.RegisterOption
		want []string
	}{
		{"unknown method", rpc.ServiceMetadata{Methods: map[string]rpc.MethodMetadata{"Gone": {}}},
			nil, []string{"stale metadata", "svc", "method Gone no longer exists", "go generate"}},
		{"param count", rpc.ServiceMetadata{Methods: map[string]rpc.MethodMetadata{"Add": {Params: []string{"a"}}}},
			nil, []string{"stale metadata", "svc", "method Add takes 2 arguments, the metadata names 1", `"a"`}},
		{"context counted", rpc.ServiceMetadata{Methods: map[string]rpc.MethodMetadata{"Neg": {Params: []string{"ctx", "x"}}}},
			nil, []string{"method Neg takes 1 arguments"}},
		{"notification type of an unknown method", rpc.ServiceMetadata{},
			[]rpc.RegisterOption{rpc.WithNotificationType("Nope", 1)}, []string{`WithNotificationType("Nope")`, "svc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rpc.RegisterMetadata(reflect.TypeFor[svc](), tc.md)
			srv := rpc.NewServer(nil)
			defer srv.Stop()
			err := srv.Register("stale", svc{}, tc.opts...)
			if err == nil {
				t.Fatal("Register succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
