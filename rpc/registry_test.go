package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// ctDialServer connects an in-process client to srv and closes it when the test ends.
func ctDialServer(t *testing.T, srv *rpc.Server) *rpc.Client {
	t.Helper()
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ctCtx returns a context that ends after a few seconds, so that a hung call fails the test
// instead of hanging it.
func ctCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ctRPCError returns err as *rpc.Error, failing the test if it is not one.
func ctRPCError(t *testing.T, err error) *rpc.Error {
	t.Helper()
	var e *rpc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *rpc.Error", err, err)
	}
	return e
}

// ctJSONEqual reports whether two JSON texts hold the same value.
func ctJSONEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("invalid JSON %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return fmt.Sprint(va) == fmt.Sprint(vb)
}

// ctCalc has methods for the error and parameter-name tests.
type ctCalc struct{}

func (ctCalc) Div(num, den int) (int, error) {
	if den == 0 {
		return 0, errors.New("division by zero")
	}
	return num / den, nil
}

func (ctCalc) Neg(ctx context.Context, x int) int { return -x }

// ctPoint is a single struct argument: by-name params fill it without WithParamNames.
type ctPoint struct {
	X int `json:"x"`
	Y int `json:"y"`
}

func (ctCalc) Norm1(p ctPoint) int { return max(p.X, -p.X) + max(p.Y, -p.Y) }

// ctNoMethods has no methods at all.
type ctNoMethods struct{}

// ctOnlyUnsuitable has exported methods, none of a suitable shape.
type ctOnlyUnsuitable struct{}

func (ctOnlyUnsuitable) Variadic(a ...int) int { return len(a) }
func (ctOnlyUnsuitable) Chan(c chan int)       {}
func (ctOnlyUnsuitable) Pair() (int, int)      { return 1, 2 }

//lint:ignore ST1008 the shape under test
func (ctOnlyUnsuitable) ErrorFirst() (error, int)       { return nil, 0 }
func (ctOnlyUnsuitable) Triple() (int, int, error)      { return 0, 0, nil }
func (ctOnlyUnsuitable) FuncResult() func()             { return nil }
func (ctOnlyUnsuitable) ComplexArg(c complex128)        {}
func (ctOnlyUnsuitable) MapOfChans(map[string]chan int) {}

// ctPtrOnly has its methods on the pointer type only.
type ctPtrOnly struct{ n int }

func (p *ctPtrOnly) Get() int  { return p.n }
func (p *ctPtrOnly) Set(n int) { p.n = n }
func (ctPtrOnly) Bad(chan int) {} // on the value type, but of an unsuitable shape

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name     string
		ns       string
		receiver any
		opts     []rpc.RegisterOption
		want     string // substring of the error
	}{
		{"empty namespace", "", ctCalc{}, nil, "empty namespace"},
		{"underscore", "a_b", ctCalc{}, nil, `invalid namespace "a_b"`},
		{"leading digit", "1x", ctCalc{}, nil, `invalid namespace "1x"`},
		{"dot", "a.b", ctCalc{}, nil, `invalid namespace "a.b"`},
		{"non-ASCII letters", "ünï", ctCalc{}, nil, "invalid namespace"},
		{"dash", "a-b", ctCalc{}, nil, "invalid namespace"},
		{"space", "a b", ctCalc{}, nil, "invalid namespace"},
		{"only digits", "42", ctCalc{}, nil, "invalid namespace"},
		{"reserved rpc", "rpc", ctCalc{}, nil, "reserved"},
		{"nil receiver", "calc", nil, nil, "nil receiver"},
		{"no methods", "none", ctNoMethods{}, nil, "no exported methods of a suitable shape"},
		{"no methods, pointer", "none", &ctNoMethods{}, nil, "no exported methods of a suitable shape"},
		{"only unsuitable methods", "bad", ctOnlyUnsuitable{}, nil, "no exported methods of a suitable shape"},
		{"pointer methods on a value", "ptr", ctPtrOnly{}, nil, "register a pointer"},
		{"param names: no such method", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("Mul", "a", "b")}, `WithParamNames("Mul")`},
		{"param names: wire name instead of Go name", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("div", "a", "b")}, `WithParamNames("div")`},
		{"param names: unsuitable method", "bad", ctOnlyUnsuitable{}, []rpc.RegisterOption{rpc.WithParamNames("Variadic", "a")}, `WithParamNames("Variadic")`},
		{"param names: too few", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("Div", "num")}, "1 parameter names given, the method takes 2"},
		{"param names: too many", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("Div", "a", "b", "c")}, "3 parameter names given, the method takes 2"},
		{"param names: context counted", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("Neg", "ctx", "x")}, "2 parameter names given, the method takes 1"},
		{"param names: duplicate", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("Div", "a", "a")}, `parameter name "a" is used twice`},
		{"param names: empty", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("Div", "a", "")}, "parameter 1 has an empty name"},
		{"param names: one bad among good", "calc", ctCalc{}, []rpc.RegisterOption{rpc.WithParamNames("Div", "a", "b"), rpc.WithParamNames("Neg")}, "0 parameter names given, the method takes 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rpc.NewServer(nil)
			t.Cleanup(srv.Stop)
			before := srv.Methods(nil)
			err := srv.Register(tt.ns, tt.receiver, tt.opts...)
			if err == nil {
				t.Fatalf("Register(%q, %T) succeeded, want an error containing %q", tt.ns, tt.receiver, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Register(%q, %T) = %q, want it to contain %q", tt.ns, tt.receiver, err, tt.want)
			}
			if after := srv.Methods(nil); !slices.Equal(before, after) {
				t.Errorf("a failed Register changed the methods: %q → %q", before, after)
			}
		})
	}
}

func TestRegisterValidNamespaces(t *testing.T) {
	for _, ns := range []string{"a", "Z", "eth", "web3", "A1b2", "camelCase"} {
		t.Run(ns, func(t *testing.T) {
			srv := rpc.NewServer(nil)
			t.Cleanup(srv.Stop)
			if err := srv.Register(ns, ctCalc{}); err != nil {
				t.Fatalf("Register(%q) = %v", ns, err)
			}
			var got int
			if err := ctDialServer(t, srv).Call(ctCtx(t), &got, ns+"_div", 9, 3); err != nil || got != 3 {
				t.Errorf("%s_div(9, 3) = %d, %v; want 3, nil", ns, got, err)
			}
		})
	}
}

// ctShapes has one method of each shape; the table in TestRegisterShapes says which are exposed.
type ctShapes struct{}

// Exposed.
func (ctShapes) Plain(a int) int { return a * 2 }
func (ctShapes) WithCtx(ctx context.Context, a int) string {
	return fmt.Sprintf("%s/%d", rpc.PeerInfoFromContext(ctx).Transport, a)
}
func (ctShapes) CtxOnly(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return !ok && ctx.Err() == nil
}
func (ctShapes) NoResult(a int) {}
func (ctShapes) NoArgs()        {}
func (ctShapes) ErrOnly(fail bool) error {
	if fail {
		return errors.New("errOnly failed")
	}
	return nil
}
func (ctShapes) ValueErr(fail bool) (string, error) {
	if fail {
		return "ignored", errors.New("valueErr failed")
	}
	return "ok", nil
}
func (ctShapes) CtxValueErr(ctx context.Context, s string) (string, error) { return s + "!", nil }
func (ctShapes) PtrArg(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}
func (ctShapes) StructResult() ctPoint { return ctPoint{1, 2} }
func (ctShapes) FailCoded() error      { return &rpc.Error{Code: -32099, Message: "coded"} }
func (ctShapes) ID() string            { return "iD" }
func (ctShapes) URLPath() string       { return "uRLPath" }

// Not exposed.
//
//lint:ignore ST1008 the shape under test
func (ctShapes) ErrFirst() (error, string)          { return nil, "" }
func (ctShapes) TwoValues() (int, string)           { return 0, "" }
func (ctShapes) TwoErrors() (error, error)          { return nil, nil }
func (ctShapes) ThreeResults() (int, string, error) { return 0, "", nil }
func (ctShapes) ChanArg(c chan int) int             { return 0 }
func (ctShapes) FuncArg(f func()) int               { return 0 }
func (ctShapes) ChanResult() chan int               { return nil }
func (ctShapes) FuncResult() func()                 { return nil }
func (ctShapes) ChanResultErr() (chan int, error)   { return nil, nil }
func (ctShapes) SliceOfChanArg(c []chan int)        {}
func (ctShapes) PtrToFuncArg(f *func())             {}
func (ctShapes) MapOfFuncResult() map[string]func() { return nil }
func (ctShapes) ComplexArg(c complex128)            {}
func (ctShapes) ComplexResult() complex64           { return 0 }
func (ctShapes) Variadic(a ...int) int              { return 0 }
func (ctShapes) VariadicCtx(ctx context.Context, a ...string) int {
	return 0
}
func (ctShapes) unexported() int { return 0 }

func TestRegisterShapes(t *testing.T) {
	_ = ctShapes{}.unexported // keeps the unexported method, whose exclusion is tested
	shapes := []struct {
		goName  string
		wire    string
		exposed bool
	}{
		{"Plain", "shape_plain", true},
		{"WithCtx", "shape_withCtx", true},
		{"CtxOnly", "shape_ctxOnly", true},
		{"NoResult", "shape_noResult", true},
		{"NoArgs", "shape_noArgs", true},
		{"ErrOnly", "shape_errOnly", true},
		{"ValueErr", "shape_valueErr", true},
		{"CtxValueErr", "shape_ctxValueErr", true},
		{"PtrArg", "shape_ptrArg", true},
		{"StructResult", "shape_structResult", true},
		{"FailCoded", "shape_failCoded", true},
		{"ID", "shape_iD", true},
		{"URLPath", "shape_uRLPath", true},
		{"ErrFirst", "shape_errFirst", false},
		{"TwoValues", "shape_twoValues", false},
		{"TwoErrors", "shape_twoErrors", false},
		{"ThreeResults", "shape_threeResults", false},
		{"ChanArg", "shape_chanArg", false},
		{"FuncArg", "shape_funcArg", false},
		{"ChanResult", "shape_chanResult", false},
		{"FuncResult", "shape_funcResult", false},
		{"ChanResultErr", "shape_chanResultErr", false},
		{"SliceOfChanArg", "shape_sliceOfChanArg", false},
		{"PtrToFuncArg", "shape_ptrToFuncArg", false},
		{"MapOfFuncResult", "shape_mapOfFuncResult", false},
		{"ComplexArg", "shape_complexArg", false},
		{"ComplexResult", "shape_complexResult", false},
		{"Variadic", "shape_variadic", false},
		{"VariadicCtx", "shape_variadicCtx", false},
		{"unexported", "shape_unexported", false},
	}
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if err := srv.Register("shape", ctShapes{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"rpc.discover", "rpc_modules"}
	for _, s := range shapes {
		if s.exposed {
			want = append(want, s.wire)
		}
	}
	slices.Sort(want)
	if got := srv.Methods(nil); !slices.Equal(got, want) {
		t.Errorf("Methods(nil) =\n%q\nwant\n%q", got, want)
	}

	c := ctDialServer(t, srv)
	for _, s := range shapes {
		t.Run(s.goName, func(t *testing.T) {
			var raw json.RawMessage
			err := c.Call(ctCtx(t), &raw, s.wire)
			var e *rpc.Error
			notFound := errors.As(err, &e) && e.Code == rpc.CodeMethodNotFound
			if notFound == s.exposed {
				t.Errorf("calling %s: %v (raw result %s); exposed = %v", s.wire, err, raw, s.exposed)
			}
		})
	}
}

func TestRegisterShapeCalls(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if err := srv.Register("shape", ctShapes{}); err != nil {
		t.Fatal(err)
	}
	c := ctDialServer(t, srv)
	tests := []struct {
		method   string
		args     []any
		want     string // JSON of the result, when wantCode is 0
		wantCode int
		wantMsg  string
	}{
		{"shape_plain", []any{21}, `42`, 0, ""},
		{"shape_plain", []any{"21"}, ``, rpc.CodeInvalidParams, "invalid argument 0"},
		{"shape_plain", nil, ``, rpc.CodeInvalidParams, "missing value for required argument 0"},
		{"shape_withCtx", []any{5}, `"inproc/5"`, 0, ""}, // the context is the server's, carrying the peer
		{"shape_ctxOnly", nil, `true`, 0, ""},
		{"shape_ctxOnly", []any{1}, ``, rpc.CodeInvalidParams, "too many arguments"},
		{"shape_noResult", []any{1}, `null`, 0, ""},
		{"shape_noArgs", nil, `null`, 0, ""},
		{"shape_errOnly", []any{false}, `null`, 0, ""},
		{"shape_errOnly", []any{true}, ``, rpc.CodeServerError, "errOnly failed"},
		{"shape_valueErr", []any{false}, `"ok"`, 0, ""},
		{"shape_valueErr", []any{true}, ``, rpc.CodeServerError, "valueErr failed"},
		{"shape_ctxValueErr", []any{"hi"}, `"hi!"`, 0, ""},
		{"shape_ptrArg", nil, `-1`, 0, ""},
		{"shape_ptrArg", []any{nil}, `-1`, 0, ""},
		{"shape_ptrArg", []any{7}, `7`, 0, ""},
		{"shape_structResult", nil, `{"x":1,"y":2}`, 0, ""},
		{"shape_failCoded", nil, ``, -32099, "coded"},
		{"shape_iD", nil, `"iD"`, 0, ""},
		{"shape_uRLPath", nil, `"uRLPath"`, 0, ""},
		{"shape_ID", nil, ``, rpc.CodeMethodNotFound, "shape_ID does not exist"},
		{"shape_id", nil, ``, rpc.CodeMethodNotFound, "shape_id does not exist"},
		{"shape_Plain", []any{1}, ``, rpc.CodeMethodNotFound, "does not exist"},
		{"shape.plain", []any{1}, ``, rpc.CodeMethodNotFound, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v", tt.method, tt.args), func(t *testing.T) {
			var raw json.RawMessage
			err := c.Call(ctCtx(t), &raw, tt.method, tt.args...)
			if tt.wantCode != 0 {
				e := ctRPCError(t, err)
				if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) {
					t.Errorf("got error %d %q, want %d containing %q", e.Code, e.Message, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !ctJSONEqual(t, raw, []byte(tt.want)) {
				t.Errorf("result %s, want %s", raw, tt.want)
			}
		})
	}
}

func TestRegisterPointerReceiver(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	p := &ctPtrOnly{n: 1}
	if err := srv.Register("ptr", p); err != nil {
		t.Fatalf("Register(pointer) = %v", err)
	}
	want := []string{"ptr_get", "ptr_set", "rpc.discover", "rpc_modules"}
	if got := srv.Methods(nil); !slices.Equal(got, want) {
		t.Errorf("Methods(nil) = %q, want %q", got, want)
	}
	c := ctDialServer(t, srv)
	ctx := ctCtx(t)
	if err := c.Call(ctx, nil, "ptr_set", 41); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := c.Call(ctx, &got, "ptr_get"); err != nil || got != 41 {
		t.Errorf("ptr_get = %d, %v; want 41 (the registered pointer's state)", got, err)
	}
	if p.n != 41 {
		t.Errorf("the receiver's field is %d after ptr_set(41)", p.n)
	}
}

// Receivers registered under one namespace, to test merging.
type ctMergeA struct{}

func (ctMergeA) Foo() string { return "a-foo" }
func (ctMergeA) Bar() string { return "a-bar" }

type ctMergeB struct{}

func (ctMergeB) Bar() string  { return "b-bar" }
func (ctMergeB) Baz() string  { return "b-baz" }
func (ctMergeB) Bad(chan int) {}

func TestRegisterMerge(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if got, want := srv.Methods(nil), []string{"rpc.discover", "rpc_modules"}; !slices.Equal(got, want) {
		t.Errorf("a new server's Methods(nil) = %q, want %q", got, want)
	}
	if err := srv.Register("m", ctMergeA{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register("m", ctMergeB{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register("other", ctMergeB{}); err != nil {
		t.Fatal(err)
	}
	// A failed registration under the same namespace leaves what is there.
	if err := srv.Register("m", ctMergeA{}, rpc.WithParamNames("Foo", "x")); err == nil {
		t.Fatal("Register with a bad WithParamNames succeeded")
	}
	want := []string{"m_bar", "m_baz", "m_foo", "other_bar", "other_baz", "rpc.discover", "rpc_modules"}
	if got := srv.Methods(nil); !slices.Equal(got, want) {
		t.Errorf("Methods(nil) = %q, want %q", got, want)
	}
	if got, want := srv.Methods([]string{"other"}), []string{"other_bar", "other_baz", "rpc.discover", "rpc_modules"}; !slices.Equal(got, want) {
		t.Errorf(`Methods(["other"]) = %q, want %q`, got, want)
	}

	c := ctDialServer(t, srv)
	calls := []struct{ method, want string }{
		{"m_foo", "a-foo"}, // kept from the first receiver
		{"m_bar", "b-bar"}, // replaced by the second
		{"m_baz", "b-baz"}, // added by the second
		{"other_bar", "b-bar"},
	}
	for _, tc := range calls {
		var got string
		if err := c.Call(ctCtx(t), &got, tc.method); err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.method, got, err, tc.want)
		}
	}
	var mods map[string]string
	if err := c.Call(ctCtx(t), &mods, "rpc_modules"); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"m": "1.0", "other": "1.0", "rpc": "1.0"}; fmt.Sprint(mods) != fmt.Sprint(want) {
		t.Errorf("rpc_modules = %v, want %v", mods, want)
	}
}

func TestRegisterParamNames(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if err := srv.Register("named", ctCalc{}, rpc.WithParamNames("Div", "num", "den"), rpc.WithParamNames("Neg", "x")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register("plain", ctCalc{}); err != nil {
		t.Fatal(err)
	}
	c := ctDialServer(t, srv)
	tests := []struct {
		name     string
		method   string
		args     []any // by position when params is nil
		params   any   // by name
		want     int
		wantCode int
		wantMsg  string
	}{
		{"by name", "named_div", nil, map[string]int{"num": 12, "den": 4}, 3, 0, ""},
		{"by name, struct", "named_div", nil, struct {
			Den int `json:"den"`
			Num int `json:"num"`
		}{2, 10}, 5, 0, ""},
		{"by position still works", "named_div", []any{12, 4}, nil, 3, 0, ""},
		{"by name, method error", "named_div", nil, map[string]int{"num": 1, "den": 0}, 0, rpc.CodeServerError, "division by zero"},
		{"by name, context not named", "named_neg", nil, map[string]int{"x": 5}, -5, 0, ""},
		{"by name, unknown name", "named_div", nil, map[string]int{"num": 1, "d": 1}, 0, rpc.CodeInvalidParams, `unknown argument "d"`},
		{"by name, missing name", "named_div", nil, map[string]int{"num": 1}, 0, rpc.CodeInvalidParams, `missing value for required argument "den"`},
		{"by name, wrong type", "named_div", nil, map[string]any{"num": "1", "den": 1}, 0, rpc.CodeInvalidParams, `invalid argument "num"`},
		{"names unknown", "plain_div", nil, map[string]int{"num": 12, "den": 4}, 0, rpc.CodeInvalidParams, "pass params as an array"},
		{"names unknown, by position", "plain_div", []any{12, 4}, nil, 3, 0, ""},
		{"single struct by name", "plain_norm1", nil, map[string]int{"x": -3, "y": 4}, 7, 0, ""},
		{"single struct by name, unknown member", "plain_norm1", nil, map[string]int{"x": 1, "z": 4}, 0, rpc.CodeInvalidParams, `unknown argument "z"`},
		{"single struct by position", "plain_norm1", []any{ctPoint{2, -2}}, nil, 4, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got int
			var err error
			if tt.params != nil {
				err = c.CallNamed(ctCtx(t), &got, tt.method, tt.params)
			} else {
				err = c.Call(ctCtx(t), &got, tt.method, tt.args...)
			}
			if tt.wantCode != 0 {
				e := ctRPCError(t, err)
				if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) {
					t.Errorf("got error %d %q, want %d containing %q", e.Code, e.Message, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d, nil", got, err, tt.want)
			}
		})
	}
}
