package clash

import x "encoding/json"

// B is a service.
type B struct{}

// N takes a type of encoding/json, also imported as x.
func (B) N(v x.RawMessage) {}
