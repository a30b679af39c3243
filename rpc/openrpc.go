package rpc

import (
	"encoding/json"
	"reflect"
	"strings"
)

// openrpcVersion is the version of the OpenRPC specification that rpc.discover's documents follow.
const openrpcVersion = "1.3.2"

// discoverMethod is the wire name OpenRPC reserves for service discovery.
const discoverMethod = "rpc.discover"

// The document, in the order its members are written.
type (
	openrpcDoc struct {
		OpenRPC    string             `json:"openrpc"`
		Info       openrpcInfo        `json:"info"`
		Methods    []openrpcMethod    `json:"methods"`
		Components *openrpcComponents `json:"components,omitempty"`
	}
	openrpcInfo struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	}
	openrpcComponents struct {
		Schemas map[string]*jsonSchema `json:"schemas"`
	}
	openrpcMethod struct {
		Name           string               `json:"name"`
		Summary        string               `json:"summary,omitempty"`
		Description    string               `json:"description,omitempty"`
		ParamStructure string               `json:"paramStructure"`
		Params         []contentDescriptor  `json:"params"`
		Result         *contentDescriptor   `json:"result,omitempty"`
		Errors         []openrpcError       `json:"errors,omitempty"`
		Deprecated     bool                 `json:"deprecated,omitempty"`
		Subscription   *subscriptionMembers `json:"x-subscription,omitempty"`
		Stream         *streamMembers       `json:"x-stream,omitempty"`
	}
	contentDescriptor struct {
		Name        string      `json:"name"`
		Description string      `json:"description,omitempty"`
		Required    bool        `json:"required,omitempty"`
		Schema      *jsonSchema `json:"schema"`
	}
	openrpcError struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	// subscriptionMembers is the x-subscription extension of an NS_subscribe(name) entry.
	subscriptionMembers struct {
		Method       string      `json:"method"`       // the wire method: NS_subscribe
		Name         string      `json:"name"`         // the subscription: the first param
		Notification string      `json:"notification"` // NS_subscription
		Unsubscribe  string      `json:"unsubscribe"`  // NS_unsubscribe
		Result       *jsonSchema `json:"result"`       // of each notification's params.result
	}
	// streamMembers is the x-stream extension of a client-streaming method's entry.
	streamMembers struct {
		Item   string      `json:"item"`   // NS_streamItem
		End    string      `json:"end"`    // NS_streamEnd
		Value  *jsonSchema `json:"value"`  // of each value
		Result *jsonSchema `json:"result"` // of NS_streamEnd's answer: the method's result
	}
)

// Param structures of a method entry.
const (
	byPosition = "by-position"
	byName     = "by-name"
	either     = "either"
)

// docScope is what a document covers: the namespaces of a connection, whether it can carry
// subscriptions, and the permissions its principal lacks.
type docScope struct {
	allow  map[string]bool // nil: every namespace
	noSubs bool
	denied map[string]bool // permissions not held; nil: none
}

func (sc docScope) covers(cb *callback) bool {
	return (sc.allow == nil || sc.allow[cb.namespace]) && !(sc.noSubs && (cb.subName != "" || cb.stream != nil || cb.rcvr.Type() == streamBuiltinsType)) &&
		!sc.denied[cb.perm]
}

// buildOpenRPC writes the OpenRPC document of the callbacks in scope.
func buildOpenRPC(cfg *config, cbs []*callback, sc docScope) ([]byte, error) {
	doc := openrpcDoc{
		OpenRPC: openrpcVersion,
		Info:    openrpcInfo{Title: cfg.name, Version: cfg.version},
		Methods: []openrpcMethod{},
	}
	b := newSchemaBuilder()
	unsub := make(map[string]bool) // namespaces with subscriptions
	for _, cb := range cbs {
		if !sc.covers(cb) {
			continue
		}
		doc.Methods = append(doc.Methods, b.method(cb))
		if cb.subName != "" {
			unsub[cb.namespace] = true
		}
	}
	for _, ns := range sortedKeys(unsub) {
		doc.Methods = append(doc.Methods, unsubscribeEntry(ns))
	}
	if len(b.defs) > 0 {
		doc.Components = &openrpcComponents{Schemas: b.defs}
	}
	return json.Marshal(doc)
}

// method describes one callback.
func (b *schemaBuilder) method(cb *callback) openrpcMethod {
	m := openrpcMethod{Name: cb.name, Params: []contentDescriptor{}}
	if md := cb.meta; md != nil {
		m.Summary, m.Deprecated = md.Summary, md.Deprecated
		if md.Doc != md.Summary {
			m.Description = md.Doc
		}
		for _, e := range md.Errors {
			m.Errors = append(m.Errors, openrpcError(e))
		}
	}
	switch {
	case cb.names == nil && cb.fields != nil:
		m.ParamStructure = byName
		m.Params = b.fieldParams(cb)
	case cb.names != nil || len(cb.args) == 0:
		m.ParamStructure = either
		m.Params = b.argParams(cb)
	default:
		m.ParamStructure = byPosition
		m.Params = b.argParams(cb)
	}
	m.Result = b.result(cb)
	if cb.subName != "" {
		b.subscription(&m, cb)
	}
	if cb.stream != nil {
		res := &jsonSchema{Type: "null"}
		if cb.hasResult {
			res = b.schemaOf(cb.result)
		}
		m.Stream = &streamMembers{Item: cb.namespace + streamItemSuffix, End: cb.namespace + streamEndSuffix,
			Value: b.schemaOf(cb.streamElem.typ), Result: res}
		m.Result = &contentDescriptor{Name: "stream", Schema: &jsonSchema{Type: "string"},
			Description: "the stream's id, for its values (" + m.Stream.Item + ") and its end (" + m.Stream.End + "), which answers the method's result"}
	}
	return m
}

// subscription turns m into the NS_subscribe(name) entry of the subscription cb: its name first
// among the params, and the x-subscription member.
func (b *schemaBuilder) subscription(m *openrpcMethod, cb *callback) {
	m.Name = cb.name + "(" + cb.subName + ")"
	m.Params = append([]contentDescriptor{{
		Name:        subMember,
		Description: "the subscription's name, first by position",
		Required:    true,
		Schema:      &jsonSchema{Type: "string", Const: cb.subName},
	}}, m.Params...)
	ns := cb.namespace
	notif := &jsonSchema{}
	if cb.notifType != nil {
		notif = b.schemaOf(cb.notifType)
	}
	m.Subscription = &subscriptionMembers{
		Method:       ns + subscribeSuffix,
		Name:         cb.subName,
		Notification: ns + "_subscription",
		Unsubscribe:  ns + unsubscribeSuffix,
		Result:       notif,
	}
}

// argParams describes the arguments of a method. An argument is required when leaving it out
// fails either by position (it comes before cb.required) or by name (it is not a pointer).
func (b *schemaBuilder) argParams(cb *callback) []contentDescriptor {
	ps := make([]contentDescriptor, len(cb.args))
	for i, a := range cb.args {
		ps[i] = contentDescriptor{
			Name:     cb.paramName(i),
			Required: i < cb.required || a.typ.Kind() != reflect.Pointer,
			Schema:   b.schemaOf(a.typ),
		}
	}
	return ps
}

// fieldParams describes the members of a method's single struct argument, as params by name.
func (b *schemaBuilder) fieldParams(cb *callback) []contentDescriptor {
	st := b.schemaOf(cb.args[0].typ)
	if name, ok := strings.CutPrefix(st.Ref, schemaRefPrefix); ok {
		st = b.defs[name]
	}
	ps := make([]contentDescriptor, len(cb.fields.names))
	for i, name := range cb.fields.names {
		s := st.Properties[name]
		if s == nil {
			s = &jsonSchema{}
		}
		ps[i] = contentDescriptor{Name: name, Required: cb.fields.required[i], Schema: s}
	}
	return ps
}

// result describes what a call answers: its result, null for a method without one, the
// subscription id for a subscription.
func (b *schemaBuilder) result(cb *callback) *contentDescriptor {
	r := &contentDescriptor{Name: "result", Schema: &jsonSchema{Type: "null"}}
	if md := cb.meta; md != nil {
		if md.Result != "" {
			r.Name = md.Result
		}
		r.Description = md.ResultDoc
	}
	switch {
	case cb.subName != "":
		r.Name, r.Schema = "subscription", &jsonSchema{Type: "string"}
		r.Description = "the subscription's id, to match its notifications and to unsubscribe"
	case cb.name == discoverMethod:
		r.Schema = &jsonSchema{Ref: "https://meta.open-rpc.org/"}
	case cb.hasResult:
		r.Schema = b.schemaOf(cb.result)
	}
	return r
}

// unsubscribeEntry describes the NS_unsubscribe built-in of a namespace with subscriptions.
func unsubscribeEntry(ns string) openrpcMethod {
	return openrpcMethod{
		Name:           ns + unsubscribeSuffix,
		Summary:        "Ends a subscription of this connection.",
		ParamStructure: either,
		Params: []contentDescriptor{{
			Name: "id", Description: "the id that subscribing answered", Required: true,
			Schema: &jsonSchema{Type: "string"},
		}},
		Result: &contentDescriptor{Name: "result", Description: "true when the subscription ended",
			Schema: &jsonSchema{Type: "boolean"}},
		Errors: []openrpcError{{Code: CodeServerError, Message: "subscription not found"}},
	}
}
