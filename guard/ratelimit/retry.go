package ratelimit

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// RetryAfter reports how long a client should wait before calling again, when err is a
// limiter's refusal: a -32005 error with {"retryAfterMs": N} (WebSocket, IPC, a batch's
// call), or an HTTP 429 whose body is such an answer (httprpc's client).
func RetryAfter(err error) (time.Duration, bool) {
	var data any
	var re *rpc.Error
	var he *httprpc.HTTPError
	switch {
	case errors.As(err, &re) && re.Code == rpc.CodeServerBusy:
		data = re.Data
	case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
		var ans struct {
			Error *struct {
				Data json.RawMessage `json:"data"`
			} `json:"error"`
		}
		if json.Unmarshal(he.Body, &ans) != nil || ans.Error == nil {
			return 0, false
		}
		data = ans.Error.Data
	default:
		return 0, false
	}
	var rd RetryData
	switch d := data.(type) {
	case RetryData:
		rd = d
	case json.RawMessage:
		if json.Unmarshal(d, &rd) != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if rd.RetryAfterMs <= 0 {
		return 0, false
	}
	return time.Duration(rd.RetryAfterMs) * time.Millisecond, true
}
