package subscriptions

import "github.com/polyrpc/polyrpc/internal/wire"

// encode encodes a value sent to subscribers, as the server encodes results (wire.AppendJSON),
// so that a value is byte-identical as a result and as a notification. Every encoding in the
// package goes through it.
func encode(v any) ([]byte, error) { return wire.AppendJSON(nil, v) }
