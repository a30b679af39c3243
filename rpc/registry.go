package rpc

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Separator between namespace and method in wire names: test + Add → test_add.
const separator = "_"

var (
	contextType         = reflect.TypeFor[context.Context]()
	errorType           = reflect.TypeFor[error]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	subscriptionType    = reflect.TypeFor[*subscriptions.Subscription]()
)

// registry maps wire names to callbacks. Lookups are lock-free: Register publishes a new map.
type registry struct {
	mu      sync.Mutex // serialises writers
	methods atomic.Pointer[map[string]*callback]
	subs    atomic.Pointer[map[string]*callback]   // subscriptions, by subKey
	unsubs  atomic.Pointer[map[string]*MethodInfo] // NS_unsubscribe of each namespace with subscriptions, by NS

	// The markers of Call.Method (see init).
	other, batch *MethodInfo
	// Guarded by mu: the Index of each method's MethodInfo, by wire name (and subscription
	// name), so that a method registered again keeps its index.
	index map[string]int
}

func (r *registry) init() {
	r.other = &MethodInfo{Name: MethodOther, Index: 0}
	r.batch = &MethodInfo{Name: MethodBatch, Index: 1}
	r.index = make(map[string]int)
}

// newInfo returns the MethodInfo of a method named name (subscription sub), with its index
// (r.mu held).
func (r *registry) newInfo(name, sub, namespace, perm string) *MethodInfo {
	key := name + "/" + sub
	i, ok := r.index[key]
	if !ok {
		i = len(r.index) + 2 // after the markers
		r.index[key] = i
	}
	return &MethodInfo{Name: name, Subscription: sub, Namespace: namespace, Permission: perm, Index: i}
}

// subKey is the key of a subscription in registry.subs.
func subKey(namespace, name string) string { return namespace + separator + name }

func (r *registry) lookupSub(namespace, name string) *callback {
	if m := r.subs.Load(); m != nil {
		return (*m)[subKey(namespace, name)]
	}
	return nil
}

func (r *registry) lookup(name string) *callback {
	m := r.methods.Load()
	if m == nil {
		return nil
	}
	return (*m)[name]
}

// add merges cbs into the registry; a method of the same name replaces the old one.
func (r *registry) add(cbs []*callback) {
	r.mu.Lock()
	defer r.mu.Unlock()
	methods, subs := clone(r.methods.Load()), clone(r.subs.Load())
	var unsubs map[string]*MethodInfo
	for _, cb := range cbs {
		cb.info = r.newInfo(cb.name, cb.subName, cb.namespace, cb.perm)
		if cb.subName != "" {
			subs[subKey(cb.namespace, cb.subName)] = cb
			if m := r.unsubs.Load(); unsubs == nil && (m == nil || (*m)[cb.namespace] == nil) {
				unsubs = make(map[string]*MethodInfo)
				if m != nil {
					for k, v := range *m {
						unsubs[k] = v
					}
				}
			}
			if unsubs != nil && unsubs[cb.namespace] == nil {
				unsubs[cb.namespace] = r.newInfo(cb.namespace+unsubscribeSuffix, "", cb.namespace, "")
			}
		} else {
			methods[cb.name] = cb
		}
	}
	r.methods.Store(&methods)
	r.subs.Store(&subs)
	if unsubs != nil {
		r.unsubs.Store(&unsubs)
	}
}

func clone(m *map[string]*callback) map[string]*callback {
	next := make(map[string]*callback)
	if m != nil {
		for k, v := range *m {
			next[k] = v
		}
	}
	return next
}

// RegisterOption adjusts one registration; see [WithParamNames].
type RegisterOption func(*registration)

type registration struct {
	names   map[string][]string // Go method name → parameter names
	perms   map[string]string   // Go method name → permission, see WithPermission
	permAll string              // the permission of every method, see WithPermission

	meta  map[string]MethodMetadata // Go method name → generated metadata, see prepare
	notif map[string]reflect.Type   // Go method name → notification type, see WithNotificationType
}

// WithParamNames declares the parameter names of the Go method goMethod (context excluded), so
// that it also accepts params by name: {"a":1,"b":2}. Names given here win over generated
// metadata. Registration fails if the method does not exist or the count differs.
func WithParamNames(goMethod string, names ...string) RegisterOption {
	return func(r *registration) {
		if r.names == nil {
			r.names = make(map[string][]string)
		}
		r.names[goMethod] = names
	}
}

// validNamespace reports why ns cannot be a namespace, or nil.
func validNamespace(ns string) error {
	if ns == "" {
		return errors.New("rpc: empty namespace")
	}
	for i, c := range ns {
		if c > unicode.MaxASCII || !(unicode.IsLetter(c) || (i > 0 && unicode.IsDigit(c))) {
			return fmt.Errorf("rpc: invalid namespace %q: use ASCII letters and digits, starting with a letter (a %q in it would make its methods unreachable)", ns, separator)
		}
	}
	return nil
}

// formatName lowercases the first rune of a Go method name, as go-ethereum does: FailCoded → failCoded.
func formatName(name string) string {
	r, n := utf8.DecodeRuneInString(name)
	return string(unicode.ToLower(r)) + name[n:]
}

// newCallbacks builds the callbacks for every suitable method of receiver.
func newCallbacks(namespace string, receiver any, reg *registration) ([]*callback, error) {
	rv := reflect.ValueOf(receiver)
	if !rv.IsValid() {
		return nil, errors.New("rpc: nil receiver")
	}
	rt := rv.Type()
	if err := reg.prepare(rt); err != nil {
		return nil, err
	}
	var cbs []*callback
	found := make(map[string]bool)
	for i := 0; i < rt.NumMethod(); i++ {
		m := rt.Method(i)
		if !m.IsExported() {
			continue
		}
		cb, ok := newCallback(rv, m)
		if !ok {
			continue
		}
		cb.namespace = namespace
		cb.name = namespace + separator + formatName(m.Name)
		if cb.hasResult && cb.result == subscriptionType {
			if !cb.hasCtx || cb.errIndex < 0 {
				return nil, fmt.Errorf("rpc: %s.%s returns a subscription, so it must take a context.Context first and return (*subscriptions.Subscription, error)", rt, m.Name)
			}
			cb.subName = formatName(m.Name)
			cb.name = namespace + subscribeSuffix
			if cb.stream != nil {
				return nil, fmt.Errorf("rpc: %s.%s: a subscription method cannot take a stream", rt, m.Name)
			}
		} else if n := formatName(m.Name); n == "subscribe" || n == "unsubscribe" {
			return nil, fmt.Errorf("rpc: %s.%s: %s_%s is reserved for subscriptions; rename the method", rt, m.Name, namespace, n)
		}
		found[m.Name] = true
		if names, ok := reg.names[m.Name]; ok {
			if err := cb.setNames(names); err != nil {
				return nil, fmt.Errorf("rpc: %s.%s: %w", rt, m.Name, err)
			}
		}
		reg.describe(cb, m.Name)
		reg.permit(cb, m.Name)
		cbs = append(cbs, cb)
	}
	for name := range reg.names {
		if !found[name] {
			return nil, fmt.Errorf("rpc: WithParamNames(%q): %s has no suitable method of that name", name, rt)
		}
	}
	if err := reg.checkPermissions(found, rt); err != nil {
		return nil, err
	}
	for _, cb := range cbs {
		if cb.stream != nil {
			cbs = append(cbs, streamBuiltinCallbacks(namespace)...)
			break
		}
	}
	if len(cbs) == 0 {
		hint := ""
		if rt.Kind() != reflect.Pointer {
			pt := reflect.PointerTo(rt)
			for i := 0; i < pt.NumMethod(); i++ {
				if _, ok := newCallback(reflect.New(rt), pt.Method(i)); ok && pt.Method(i).IsExported() {
					hint = fmt.Sprintf(" (its pointer type %s has some: register a pointer)", pt)
					break
				}
			}
		}
		return nil, fmt.Errorf("rpc: type %s has no exported methods of a suitable shape%s", rt, hint)
	}
	return cbs, nil
}

// callback is one registered method.
type callback struct {
	name       string // wire name, namespace_method
	namespace  string
	fn         reflect.Value // the method's func, receiver first
	rcvr       reflect.Value
	hasCtx     bool
	args       []argType
	required   int  // args before this index are required in positional form
	errIndex   int  // index of the error result, or -1
	hasResult  bool // a non-error result exists
	result     reflect.Type
	resultKind reflect.Kind   // see resultKind
	names      []string       // parameter names, or nil when unknown
	nameIndex  map[string]int // names → position
	fields     *structFields  // set when the only argument is a struct: by-name fills its fields
	subName    string         // a subscription's name (name is then NS_subscribe); "" for a method
	perm       string         // the permission a caller needs; "" for none (see WithPermission)
	denied     *Error         // the answer to a caller without perm
	info       *MethodInfo    // what middlewares and hooks see of it; set by registry.add

	meta       *MethodMetadata // generated metadata (docs, names), or nil
	rawParams  bool            // ServeOther's: takes the raw params and the method's name (in ctx)
	stream     reflect.Type    // a client-streaming method's *Stream[T] (its last argument), or nil
	streamElem argType         // T, for decoding the stream's values

	invoker   func(rcvr any, ctx context.Context, args []any) (any, error) // meta.Invoke
	rcvrPtr   any                                                          // the receiver for invoker
	notifType reflect.Type                                                 // a subscription's notification type, or nil (WithNotificationType)
}

// newCallback checks the method's shape: optional context.Context first, JSON-decodable
// arguments, and nothing, error, T or (T, error) as results.
func newCallback(rcvr reflect.Value, m reflect.Method) (*callback, bool) {
	ft := m.Type
	cb := &callback{fn: m.Func, rcvr: rcvr, errIndex: -1}
	first := 1 // skip the receiver
	if ft.NumIn() > 1 && ft.In(1) == contextType {
		cb.hasCtx = true
		first = 2
	}
	for i := first; i < ft.NumIn(); i++ {
		t := ft.In(i)
		if t.Implements(streamArgType) {
			if i != ft.NumIn()-1 {
				return nil, false // a stream is the last argument
			}
			elem := reflect.New(t.Elem()).Interface().(streamArg).elem()
			if !decodable(elem) {
				return nil, false
			}
			cb.stream, cb.streamElem = t, newArgType(elem)
			break
		}
		if !decodable(t) {
			return nil, false
		}
		cb.args = append(cb.args, newArgType(t))
	}
	if ft.IsVariadic() {
		return nil, false
	}
	switch ft.NumOut() {
	case 0:
	case 1:
		if ft.Out(0) == errorType {
			cb.errIndex = 0
		} else {
			cb.hasResult, cb.result = true, ft.Out(0)
		}
	case 2:
		if ft.Out(0) == errorType || ft.Out(1) != errorType {
			return nil, false
		}
		cb.hasResult, cb.result, cb.errIndex = true, ft.Out(0), 1
	default:
		return nil, false
	}
	if cb.hasResult {
		if !encodable(cb.result) {
			return nil, false
		}
		cb.resultKind = resultKind(cb.result)
	}
	cb.required = len(cb.args)
	for cb.required > 0 && cb.args[cb.required-1].typ.Kind() == reflect.Pointer {
		cb.required--
	}
	if len(cb.args) == 1 {
		cb.fields = structFieldsOf(cb.args[0].typ)
	}
	return cb, true
}

// setNames installs declared parameter names.
func (cb *callback) setNames(names []string) error {
	if len(names) != len(cb.args) {
		return fmt.Errorf("%d parameter names given, the method takes %d arguments", len(names), len(cb.args))
	}
	idx := make(map[string]int, len(names))
	for i, n := range names {
		if n == "" {
			return fmt.Errorf("parameter %d has an empty name", i)
		}
		if _, dup := idx[n]; dup {
			return fmt.Errorf("parameter name %q is used twice", n)
		}
		idx[n] = i
	}
	cb.names, cb.nameIndex = names, idx
	return nil
}

// decodable reports whether encoding/json can decode into t.
func decodable(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Interface:
		return t.NumMethod() == 0 // only any: encoding/json cannot choose a concrete type
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return decodable(t.Elem())
	case reflect.Map:
		return decodableKey(t.Key()) && decodable(t.Elem())
	}
	return true
}

// decodableKey reports whether encoding/json can decode object keys into t.
func decodableKey(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// encodable reports whether encoding/json can encode t.
func encodable(t reflect.Type) bool {
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return encodable(t.Elem())
	}
	return true
}

// structFields describes the JSON members of a struct argument, for by-name params.
type structFields struct {
	names    []string // JSON member names, in field order
	required []bool   // non-pointer fields without omitempty/omitzero
}

// structFieldsOf returns the JSON members of t, or nil if t is not a plain struct (one with its
// own UnmarshalJSON decides its members itself).
func structFieldsOf(t reflect.Type) *structFields {
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return nil
	}
	sf := &structFields{}
	sf.collect(t, 0)
	return sf
}

func (sf *structFields) collect(t reflect.Type, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && depth < 8 {
				sf.collect(et, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := f.Type.Kind() == reflect.Pointer || strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		sf.names = append(sf.names, name)
		sf.required = append(sf.required, !optional)
	}
}
