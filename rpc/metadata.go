package rpc

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// ServiceMetadata describes the methods of one Go type as its source declares them: what
// reflection cannot see. cmd/polyrpc-gen writes it from the source, in a file that calls
// [RegisterMetadata]; [Server.Register] uses it for params by name and rpc.discover for the
// document.
type ServiceMetadata struct {
	// Methods maps Go method names (Add, not add) to their metadata.
	Methods map[string]MethodMetadata
	// Types documents the types of the service's package that its methods take and return,
	// by Go type name; rpc.discover puts their docs into the schemas.
	Types map[string]TypeMetadata
}

// TypeMetadata documents a type declared in the package of a service.
type TypeMetadata struct {
	// Doc is the type's doc comment.
	Doc string
	// Fields maps a struct's Go field names to their doc comments.
	Fields map[string]string
}

// MethodMetadata describes one Go method.
type MethodMetadata struct {
	// Params names the arguments in order, a leading context.Context excluded; "" stands for an
	// unnamed one. Register checks their count against the method. Unless Positional is set, or
	// the method's only argument is a struct (whose fields are its names), they also become the
	// names accepted by name when all are present and distinct; [WithParamNames] wins over them.
	Params []string
	// Positional keeps the params positional only: the names describe them in the document but
	// are not accepted by name (the generator sets it for a //polyrpc:positional directive).
	Positional bool
	// Summary is the first sentence of the doc comment; Doc is the whole comment.
	Summary, Doc string
	// Result names the result (a named result in the source, or "result"); ResultDoc describes it.
	Result, ResultDoc string
	// Errors are the errors the method declares (an "Errors:" block in its doc comment).
	Errors []ErrorMetadata
	// Deprecated is set by a "Deprecated:" paragraph in the doc comment.
	Deprecated bool
	// Permission is the permission a caller needs (a "Permission: NAME" line in the doc
	// comment); [WithPermission] wins over it.
	Permission string
	// Notification is the Go type of a subscription's notifications (a "Notifies: T" line in
	// its doc comment), for their schema in the document; [WithNotificationType] wins over it.
	Notification reflect.Type
	// Invoke, when set, calls the method directly instead of through reflect.Value.Call, which
	// costs a short method several times its own run time. The generator writes it; by hand it
	// must be exactly: rcvr is the registered receiver as a pointer (*T, also for a type
	// registered as a value: then a copy made at registration), ctx the call's context (passed
	// on when the method takes one), args one pointer per argument (*A for an argument of type
	// A, context excluded), and the results the method's non-error result (nil when it has
	// none) and its error (nil when it has none).
	Invoke func(rcvr any, ctx context.Context, args []any) (any, error)
}

// ErrorMetadata is an error a method declares: its code and what it means.
type ErrorMetadata struct {
	Code    int
	Message string
}

var (
	metadata sync.Map // reflect.Type (pointers removed) → ServiceMetadata
	typeDocs sync.Map // typeKey → TypeMetadata
)

// typeKey names a declared type: its package path and name.
type typeKey struct{ pkg, name string }

// RegisterMetadata records the metadata of the Go type t for every later [Server.Register] of a
// value of type t or *t. Files written by cmd/polyrpc-gen call it from init; registering t again
// replaces its metadata.
func RegisterMetadata(t reflect.Type, md ServiceMetadata) {
	if t == nil {
		return
	}
	t = baseType(t)
	metadata.Store(t, md)
	for name, td := range md.Types {
		typeDocs.Store(typeKey{t.PkgPath(), name}, td)
	}
}

// typeDoc returns the documentation of the named type t, if its package registered any.
func typeDoc(t reflect.Type) (TypeMetadata, bool) {
	if t.Name() == "" {
		return TypeMetadata{}, false
	}
	v, ok := typeDocs.Load(typeKey{t.PkgPath(), t.Name()})
	if !ok {
		return TypeMetadata{}, false
	}
	return v.(TypeMetadata), true
}

func baseType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	return t
}

// WithNotificationType declares the Go type of the notifications that the subscription method
// goMethod sends, by an example value of it, so that rpc.discover can give their schema
// (x-subscription in the document). Without it the schema is {} (any value).
func WithNotificationType(goMethod string, example any) RegisterOption {
	return func(r *registration) {
		if r.notif == nil {
			r.notif = make(map[string]reflect.Type)
		}
		r.notif[goMethod] = reflect.TypeOf(example)
	}
}

// prepare loads the metadata of the receiver type rt into the registration and checks it, and
// the Go method names given to registration options, against rt's methods. Stale metadata (a
// method rt no longer has, or a different number of arguments) is an error naming the type and
// the method.
func (reg *registration) prepare(rt reflect.Type) error {
	base := baseType(rt)
	all := reflect.PointerTo(base) // every method, whatever the receiver
	for _, name := range sortedKeys(reg.notif) {
		if _, ok := all.MethodByName(name); !ok {
			return fmt.Errorf("rpc: WithNotificationType(%q): %s has no method of that name", name, rt)
		}
	}
	v, ok := metadata.Load(base)
	if !ok {
		return nil
	}
	md := v.(ServiceMetadata)
	for _, name := range sortedKeys(md.Methods) {
		m, ok := all.MethodByName(name)
		if !ok {
			return fmt.Errorf("rpc: stale metadata for %s: method %s no longer exists (run go generate)", base, name)
		}
		n := m.Type.NumIn() - 1
		if n > 0 && m.Type.In(1) == contextType {
			n--
		}
		if params := md.Methods[name].Params; len(params) != n {
			return fmt.Errorf("rpc: stale metadata for %s: method %s takes %d arguments, the metadata names %d (%s) (run go generate)",
				base, name, n, len(params), quotedList(params))
		}
	}
	reg.meta = md.Methods
	return nil
}

// describe attaches the metadata of Go method goName to cb and, when no names were declared at
// registration, installs its parameter names.
func (reg *registration) describe(cb *callback, goName string) {
	cb.notifType = reg.notif[goName]
	mm, ok := reg.meta[goName]
	if !ok {
		return
	}
	cb.meta = &mm
	if mm.Invoke != nil {
		cb.invoker, cb.rcvrPtr = mm.Invoke, pointerTo(cb.rcvr)
	}
	if cb.notifType == nil {
		cb.notifType = mm.Notification
	}
	params := mm.Params
	if cb.stream != nil && len(params) > 0 {
		params = params[:len(params)-1] // the stream is not a param
	}
	if cb.names == nil && !mm.Positional && cb.fields == nil && len(params) > 0 && usableNames(params) {
		_ = cb.setNames(params) // usableNames checked what setNames refuses
	}
}

// pointerTo returns rcvr as a pointer: itself if it is one, else a pointer to a copy.
func pointerTo(rcvr reflect.Value) any {
	if rcvr.Kind() == reflect.Pointer {
		return rcvr.Interface()
	}
	p := reflect.New(rcvr.Type())
	p.Elem().Set(rcvr)
	return p.Interface()
}

// usableNames reports whether names can name arguments: all present and distinct.
func usableNames(names []string) bool {
	for i, n := range names {
		if n == "" || n == "_" || slices.Contains(names[:i], n) {
			return false
		}
	}
	return true
}

// paramName is the name of argument i in the document: declared, generated, or argN.
func (cb *callback) paramName(i int) string {
	if cb.names != nil {
		return cb.names[i]
	}
	if cb.meta != nil && i < len(cb.meta.Params) {
		if n := cb.meta.Params[i]; n != "" && n != "_" && usableNames(cb.meta.Params) {
			return n
		}
	}
	return "arg" + strconv.Itoa(i)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
