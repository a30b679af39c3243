package rpc

import (
	"context"
	"strconv"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// SetCancelMethod makes the client tell the server when it gives up on a call: when the
// context of a call (or of a batch) ends before its answer has arrived, the client sends the
// notification {"jsonrpc":"2.0","method":method,"params":{"id":ID}}, so that the server can
// cancel the call's context and stop its work (see Options.CancelMethod; a batch is named by
// the id of its first call, which cancels the whole batch on a polyrpc server). Use
// [DefaultCancelMethod] for a polyrpc server; "" (the default) sends nothing.
//
// It applies to clients over a connection (WebSocket, IPC). Over HTTP a call whose context
// ends closes its request, which cancels the call on a polyrpc server; in-process, the
// method's context ends with the call's. Set it before making calls.
func (c *Client) SetCancelMethod(method string) {
	c.mu.Lock()
	c.cancelMethod = method
	c.mu.Unlock()
}

// sendCancel tells the server that the client gave up on the call id, if SetCancelMethod
// asked for it. The notification is written on a goroutine of the client's (Close waits for
// it), so that the caller returns at once even if the connection is stalled.
func (c *Client) sendCancel(id uint64) {
	if c.roundTrip {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelMethod == "" || c.err != nil {
		return
	}
	msg := append([]byte(`{"jsonrpc":"2.0","method":`), wire.AppendString(nil, c.cancelMethod)...)
	msg = append(msg, `,"params":{"id":`...)
	msg = append(strconv.AppendUint(msg, id, 10), "}}\n"...)
	c.subsWG.Add(1)
	go func() {
		defer c.subsWG.Done()
		c.send(context.Background(), msg)
	}()
}
