package subscriptions

import "encoding/json"

// encode encodes a value sent to subscribers. Every encoding in the package goes through it.
func encode(v any) ([]byte, error) { return json.Marshal(v) }
