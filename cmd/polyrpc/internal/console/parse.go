package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Request is a call parsed from a console line or from the arguments of polyrpc call.
type Request struct {
	Method string
	Args   []json.RawMessage // params by position
	Named  json.RawMessage   // params by name (a JSON object), or nil
	Notify bool              // a raw request without an id: send as a notification
}

// Params returns the positional params as the []any the rpc client takes.
func (r Request) Params() []any {
	out := make([]any, len(r.Args))
	for i, a := range r.Args {
		out[i] = a
	}
	return out
}

// ParseLine parses a console line: a raw JSON-RPC request object, or a method name followed
// by params, each a JSON value or else a bare word taken as a string.
func ParseLine(line string) (Request, error) {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "{") {
		return parseRaw(line)
	}
	method, rest, _ := strings.Cut(line, " ")
	if method == "" {
		return Request{}, errors.New("no method")
	}
	if !json.Valid([]byte(`"`+method+`"`)) || strings.ContainsFunc(method, unicode.IsSpace) {
		return Request{}, fmt.Errorf("invalid method name %q", method)
	}
	vals, err := splitValues(rest)
	if err != nil {
		return Request{}, err
	}
	r := Request{Method: method}
	r.Args, r.Named = shape(vals)
	return r, nil
}

// ParseArgs builds a request from command-line arguments: the method, then one param per
// argument, each a JSON value or else a string.
func ParseArgs(method string, args []string) Request {
	vals := make([]json.RawMessage, len(args))
	for i, a := range args {
		if t := strings.TrimSpace(a); t != "" && json.Valid([]byte(t)) {
			vals[i] = json.RawMessage(t)
		} else {
			vals[i] = quote(a)
		}
	}
	r := Request{Method: method}
	r.Args, r.Named = shape(vals)
	return r
}

// shape turns a list of values into params: a single array is the params list, a single
// object gives params by name, anything else is the list of positional params.
func shape(vals []json.RawMessage) ([]json.RawMessage, json.RawMessage) {
	if len(vals) == 1 {
		switch vals[0][0] {
		case '[':
			var elems []json.RawMessage
			if json.Unmarshal(vals[0], &elems) == nil {
				return elems, nil
			}
		case '{':
			return nil, vals[0]
		}
	}
	return vals, nil
}

// splitValues splits the params part of a line into JSON values; a word that is not JSON is a
// string. A word that starts like a JSON array, object or string but is not valid is an error,
// since it was surely meant as JSON.
func splitValues(s string) ([]json.RawMessage, error) {
	var vals []json.RawMessage
	for i := 0; ; {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return vals, nil
		}
		dec := json.NewDecoder(strings.NewReader(s[i:]))
		dec.UseNumber()
		var v json.RawMessage
		if err := dec.Decode(&v); err == nil {
			end := i + int(dec.InputOffset())
			if end == len(s) || isSpace(s[end]) {
				vals = append(vals, compact(v))
				i = end
				continue
			}
		} else if strings.ContainsRune(`[{"`, rune(s[i])) {
			return nil, fmt.Errorf("invalid JSON at %q: %v", clip(s[i:]), err)
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		vals = append(vals, quote(s[i:j]))
		i = j
	}
}

// parseRaw parses a raw request object. Its id is not kept: the client numbers its own calls.
func parseRaw(line string) (Request, error) {
	var raw struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  *string         `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&raw); err != nil {
		return Request{}, fmt.Errorf("invalid request object: %v", err)
	}
	if dec.More() {
		return Request{}, errors.New("invalid request object: text after the object")
	}
	if raw.Method == nil || *raw.Method == "" {
		return Request{}, errors.New("invalid request object: no method")
	}
	r := Request{Method: *raw.Method, Notify: raw.ID == nil}
	p := bytes.TrimSpace(raw.Params)
	switch {
	case len(p) == 0 || string(p) == "null":
	case p[0] == '[':
		if err := json.Unmarshal(p, &r.Args); err != nil {
			return Request{}, fmt.Errorf("invalid params: %v", err)
		}
	case p[0] == '{':
		r.Named = compact(p)
	default:
		return Request{}, errors.New("invalid params: want an array or an object")
	}
	return r, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func compact(v []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}

// clip shortens s for an error message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
