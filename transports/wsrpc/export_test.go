package wsrpc

import (
	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
)

// NewClientOver returns a client over a WebSocket connection whose handshake is done, as Dial
// does after it: the tests that run in a synctest bubble dial through a net.Pipe.
func NewClientOver(ws *websocket.Conn, opts *DialOptions) *rpc.Client {
	if opts == nil {
		opts = &DialOptions{}
	}
	return rpc.NewClient(newConn(ws, opts.connConfig(), nil, websocket.CloseNormalClosure, ""))
}
