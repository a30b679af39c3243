package promrpc

import (
	"context"
	"strings"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// Middleware returns the middleware that counts and times calls: put it first in
// rpc.Options.Middleware. A batch as a whole is not a call: it is counted in
// polyrpc_server_batch_items, and each of its items as a call.
func (m *Metrics) Middleware() rpc.Middleware {
	return func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			t := m.transport(c.Conn.Peer.Transport)
			if c.Kind == rpc.KindBatch {
				t.batch.Observe(float64(c.BatchSize))
				return next(ctx, c)
			}
			mm := t.method(c.Method)
			mm.started.Inc()
			start := time.Since(m.epoch)
			o := next(ctx, c)
			mm.handling.Observe((time.Since(m.epoch) - start).Seconds())
			if o.Err == nil {
				mm.ok.Inc()
			} else {
				mm.code(o.Err.Code).Inc()
			}
			return o
		}
	}
}

// Hooks returns the server hooks that count connections, refusals, subscriptions and
// notifications: set them as rpc.Options.Hooks (or call them from hooks of your own).
func (m *Metrics) Hooks() rpc.Hooks {
	return rpc.Hooks{
		ConnOpened: func(c *rpc.ConnInfo) { m.connections.WithLabelValues(c.Peer.Transport).Inc() },
		ConnClosed: func(c *rpc.ConnInfo, _ string) { m.connections.WithLabelValues(c.Peer.Transport).Dec() },
		Refused: func(c *rpc.ConnInfo, reason string) {
			m.rejected.WithLabelValues(c.Peer.Transport, reasonLabel(reason)).Inc()
		},
		SubscriptionStarted: func(_ *rpc.ConnInfo, mi *rpc.MethodInfo) { m.sub(mi).live.Inc() },
		SubscriptionEnded:   func(_ *rpc.ConnInfo, mi *rpc.MethodInfo) { m.sub(mi).live.Dec() },
		NotificationsSent: func(_ *rpc.ConnInfo, mi *rpc.MethodInfo, n int) {
			m.sub(mi).sent.Add(float64(n))
		},
		NotificationsDropped: func(_ *rpc.ConnInfo, mi *rpc.MethodInfo, p subscriptions.Policy, n int) {
			m.sub(mi).droppedBy(m, p).Add(float64(n))
		},
	}
}

// reasonLabel is a refusal reason as a label value: "batch too large" is batch_too_large.
func reasonLabel(reason string) string {
	switch reason {
	case rpc.RefusedBatchTooLarge:
		return "batch_too_large"
	case rpc.RefusedMessageTooLarge:
		return "message_too_large"
	case rpc.RefusedBusy, rpc.RefusedInvalid, rpc.RefusedAuth:
		return reason
	}
	return strings.ReplaceAll(reason, " ", "_")
}
