package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

var orUpdate = flag.Bool("update", false, "rewrite the golden OpenRPC document in testdata/openrpc")

const (
	orMetaURL   = "https://meta.open-rpc.org/"
	orGolden    = "testdata/openrpc/rpctest.golden.json"
	orDocURL    = "https://polyrpc.test/openrpc.json"
	orTestTitle = "polyrpc-test"
)

// orServer is the reference test server with a fixed document title and version.
func orServer(t *testing.T) *rpc.Server {
	return rpctest.NewServer(t, &rpc.Options{Name: orTestTitle, Version: "test"})
}

// orCompiler returns a JSON Schema compiler that knows the OpenRPC meta-schemas shipped in
// testdata/openrpc.
func orCompiler(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	for file, urls := range map[string][]string{
		"openrpc-1.3.json":       {orMetaURL},
		"json-schema-tools.json": {"https://meta.json-schema.tools/", "https://meta.json-schema.tools"},
	} {
		for _, url := range urls {
			c.AddResource(url, orLoad(t, filepath.Join("testdata/openrpc", file)))
		}
	}
	return c
}

// orLoad reads a schema document without its $schema (the meta-schemas name themselves).
func orLoad(t *testing.T, path string) any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := doc.(map[string]any); ok {
		delete(m, "$schema")
		delete(m, "$id")
	}
	return doc
}

func orUnmarshal(t *testing.T, doc []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, doc)
	}
	return v
}

// TestOpenRPCMetaSchema validates the documents of the test server, for every connection
// scope, against the OpenRPC 1.3 meta-schema.
func TestOpenRPCMetaSchema(t *testing.T) {
	srv := orServer(t)
	meta, err := orCompiler(t).Compile(orMetaURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range [][]string{nil, {}, {"test"}, {"nftest", "get"}} {
		doc, err := srv.OpenRPC(ns)
		if err != nil {
			t.Fatal(err)
		}
		if err := meta.Validate(orUnmarshal(t, doc)); err != nil {
			t.Errorf("namespaces %q: the document does not validate:\n%v", ns, err)
		}
	}
	// The validator itself must reject a broken document.
	if meta.Validate(orUnmarshal(t, []byte(`{"openrpc":"1.3.2","info":{"title":"x"},"methods":[]}`))) == nil {
		t.Error("a document without info.version validated")
	}
}

// TestOpenRPCGolden pins the document of the reference test service.
func TestOpenRPCGolden(t *testing.T) {
	doc, err := orServer(t).OpenRPC(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	if *orUpdate {
		if err := os.WriteFile(orGolden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(orGolden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("the document differs from %s (go test ./rpc -run TestOpenRPCGolden -update rewrites it):\n%s", orGolden, orFirstDiff(got.String(), string(want)))
	}
}

func orFirstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

// orDoc is the part of a document the round trip reads.
type orDoc struct {
	Methods []struct {
		Name           string `json:"name"`
		ParamStructure string `json:"paramStructure"`
		Params         []struct {
			Name     string          `json:"name"`
			Required bool            `json:"required"`
			Schema   json.RawMessage `json:"schema"`
		} `json:"params"`
		Subscription *struct {
			Method string `json:"method"`
		} `json:"x-subscription"`
	} `json:"methods"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// TestDiscoverRoundTrip calls every method of the document that rpc.discover answers with
// params built from the document's names and schemas, in each structure it allows, and checks
// that the server takes them (no -32601 or -32602) and that what it answers fits the result's
// schema.
func TestDiscoverRoundTrip(t *testing.T) {
	srv := orServer(t)
	client := ctDialServer(t, srv)
	ctx := ctCtx(t)
	var raw json.RawMessage
	if err := client.Call(ctx, &raw, "rpc.discover"); err != nil {
		t.Fatal(err)
	}
	var doc orDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	c := orCompiler(t)
	if err := c.AddResource(orDocURL, orUnmarshal(t, raw)); err != nil {
		t.Fatal(err)
	}
	if len(doc.Methods) < 20 {
		t.Fatalf("the document lists %d methods", len(doc.Methods))
	}
	gen := orSampler{defs: doc.Components.Schemas}
	for i, m := range doc.Methods {
		if m.Name == "test_callback" {
			// It calls the method its params name on the client, which answers -32601: no
			// client serves the sampled name.
			continue
		}
		wire := m.Name
		if m.Subscription != nil {
			wire = m.Subscription.Method
		}
		result, err := c.Compile(fmt.Sprintf("%s#/methods/%d/result/schema", orDocURL, i))
		if err != nil {
			t.Fatalf("%s: result schema: %v", m.Name, err)
		}
		// Every param, and then only the required ones: the required flags must be right.
		positional := make([]any, len(m.Params))
		named := make(map[string]any, len(m.Params))
		namedRequired := make(map[string]any)
		nRequired := 0
		for j, p := range m.Params {
			v := gen.sample(p.Schema, 0)
			positional[j], named[p.Name] = v, v
			if p.Required {
				namedRequired[p.Name], nRequired = v, j+1
			}
		}
		var calls []func(*json.RawMessage) error
		if m.ParamStructure != "by-name" {
			calls = append(calls,
				func(res *json.RawMessage) error { return client.Call(ctx, res, wire, positional...) },
				func(res *json.RawMessage) error { return client.Call(ctx, res, wire, positional[:nRequired]...) })
		}
		if m.ParamStructure != "by-position" {
			calls = append(calls,
				func(res *json.RawMessage) error { return client.CallNamed(ctx, res, wire, named) },
				func(res *json.RawMessage) error { return client.CallNamed(ctx, res, wire, namedRequired) })
		}
		if len(calls) == 0 {
			t.Errorf("%s: paramStructure %q", m.Name, m.ParamStructure)
		}
		for _, call := range calls {
			var res json.RawMessage
			err := call(&res)
			var e *rpc.Error
			switch {
			case errors.As(err, &e) && (e.Code == rpc.CodeMethodNotFound || e.Code == rpc.CodeInvalidParams):
				t.Errorf("%s (%s) with %v / %v: %v", m.Name, m.ParamStructure, positional, named, err)
			case err == nil:
				if verr := result.Validate(orUnmarshal(t, res)); verr != nil {
					t.Errorf("%s: the result %s does not fit its schema: %v", m.Name, res, verr)
				}
			}
		}
	}
}

// orSampler builds a value that a schema of the document accepts.
type orSampler struct{ defs map[string]json.RawMessage }

func (g orSampler) sample(raw json.RawMessage, depth int) any {
	var s struct {
		Ref                  string                     `json:"$ref"`
		Type                 any                        `json:"type"`
		Format               string                     `json:"format"`
		ContentEncoding      string                     `json:"contentEncoding"`
		Const                any                        `json:"const"`
		Items                json.RawMessage            `json:"items"`
		MinItems             int                        `json:"minItems"`
		Properties           map[string]json.RawMessage `json:"properties"`
		Required             []string                   `json:"required"`
		AdditionalProperties json.RawMessage            `json:"additionalProperties"`
		PropertyNames        *struct{ Pattern string }  `json:"propertyNames"`
		AnyOf                []json.RawMessage          `json:"anyOf"`
	}
	if json.Unmarshal(raw, &s) != nil || depth > 8 {
		return nil
	}
	switch {
	case s.Const != nil:
		return s.Const
	case s.Ref != "":
		return g.sample(g.defs[strings.TrimPrefix(s.Ref, "#/components/schemas/")], depth+1)
	case len(s.AnyOf) > 0:
		return g.sample(s.AnyOf[0], depth+1)
	}
	typ, _ := s.Type.(string)
	if types, ok := s.Type.([]any); ok && len(types) > 0 {
		typ, _ = types[0].(string)
	}
	switch typ {
	case "boolean":
		return true
	case "integer":
		return 1
	case "number":
		return 1.5
	case "string":
		switch {
		case s.Format == "date-time":
			return "2026-01-02T03:04:05Z"
		case s.ContentEncoding == "base64":
			return "AQID"
		}
		return "x"
	case "array":
		items := make([]any, max(s.MinItems, 1))
		for i := range items {
			items[i] = g.sample(s.Items, depth+1)
		}
		return items
	case "object":
		obj := make(map[string]any)
		for name, ps := range s.Properties {
			obj[name] = g.sample(ps, depth+1)
		}
		if s.AdditionalProperties != nil {
			key := "k"
			if s.PropertyNames != nil && s.PropertyNames.Pattern != "" {
				key = "1"
			}
			obj[key] = g.sample(s.AdditionalProperties, depth+1)
		}
		return obj
	case "null":
		return nil
	}
	return "any" // {}: anything goes
}

// TestDiscoverScope checks that rpc.discover describes what the calling connection may call:
// its namespaces, and subscriptions only where they can be carried.
func TestDiscoverScope(t *testing.T) {
	srv := orServer(t)
	for _, tc := range []struct {
		name         string
		opts         rpc.ConnOptions
		want, absent []string
	}{
		{"all", rpc.ConnOptions{}, []string{"test_add", "rpc.discover", "rpc_modules", "nftest_subscribe(ticks)", "nftest_unsubscribe"}, nil},
		{"test only", rpc.ConnOptions{Namespaces: []string{"test"}}, []string{"test_add", "rpc.discover", "rpc_modules"}, []string{"get_data", "nftest_subscribe(ticks)"}},
		{"no subscriptions", rpc.ConnOptions{NoSubscriptions: true}, []string{"nftest_publish"}, []string{"nftest_subscribe(ticks)", "nftest_unsubscribe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := inproc.DialOptions(srv, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var doc orDoc
			if err := c.Call(ctCtx(t), &doc, "rpc.discover"); err != nil {
				t.Fatal(err)
			}
			names := make(map[string]bool)
			for _, m := range doc.Methods {
				names[m.Name] = true
			}
			for _, n := range tc.want {
				if !names[n] {
					t.Errorf("%s is missing", n)
				}
			}
			for _, n := range tc.absent {
				if names[n] {
					t.Errorf("%s is listed", n)
				}
			}
		})
	}
}

// orTicker has a subscription whose notifications are declared with WithNotificationType.
type orTicker struct{}

type orTick struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
}

func (orTicker) Ticks(ctx context.Context, every int) (*subscriptions.Subscription, error) {
	n, _ := subscriptions.NotifierFromContext(ctx)
	return n.CreateSubscription(), nil
}

func init() {
	rpc.RegisterMetadata(reflect.TypeFor[orTicker](), rpc.ServiceMetadata{Methods: map[string]rpc.MethodMetadata{
		"Ticks": {Params: []string{"every"}, Notification: reflect.TypeFor[int]()},
	}})
}

// TestDiscoverNotificationType checks where the schema of notifications comes from:
// WithNotificationType wins over the metadata.
func TestDiscoverNotificationType(t *testing.T) {
	for _, tc := range []struct {
		opts []rpc.RegisterOption
		want string
	}{
		{nil, `"result":{"type":"integer"}`},
		{[]rpc.RegisterOption{rpc.WithNotificationType("Ticks", "")}, `"result":{"type":"string"}`},
	} {
		srv := rpc.NewServer(nil)
		defer srv.Stop()
		if err := srv.Register("clock", orTicker{}, tc.opts...); err != nil {
			t.Fatal(err)
		}
		doc, err := srv.OpenRPC(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), `"unsubscribe":"clock_unsubscribe",`+tc.want) {
			t.Errorf("the document lacks %s:\n%s", tc.want, doc)
		}
	}
}

// TestDiscoverSubscription checks the entry of a subscription and its x-subscription member.
func TestDiscoverSubscription(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if err := srv.Register("clock", orTicker{}, rpc.WithParamNames("Ticks", "every"), rpc.WithNotificationType("Ticks", orTick{})); err != nil {
		t.Fatal(err)
	}
	raw, err := srv.OpenRPC(nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Methods []struct {
			Name           string          `json:"name"`
			ParamStructure string          `json:"paramStructure"`
			Params         json.RawMessage `json:"params"`
			Sub            json.RawMessage `json:"x-subscription"`
		} `json:"methods"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]string)
	for _, m := range doc.Methods {
		got[m.Name] = m.ParamStructure + " " + string(m.Params) + " " + string(m.Sub)
	}
	for name, want := range map[string]string{
		"clock_subscribe(ticks)": `either [{"name":"subscription","description":"the subscription's name, first by position","required":true,"schema":{"type":"string","const":"ticks"}},{"name":"every","required":true,"schema":{"type":"integer"}}] ` +
			`{"method":"clock_subscribe","name":"ticks","notification":"clock_subscription","unsubscribe":"clock_unsubscribe","result":{"$ref":"#/components/schemas/orTick"}}`,
		"clock_unsubscribe": `either [{"name":"id","description":"the id that subscribing answered","required":true,"schema":{"type":"string"}}] `,
	} {
		if got[name] != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got[name], want)
		}
	}
	if s := string(doc.Components.Schemas["orTick"]); !strings.Contains(s, `"at":{"type":"string","format":"date-time"}`) {
		t.Errorf("orTick schema = %s", s)
	}
}
