package rpc

import "sync/atomic"

// Budget is a server's budget for the bytes of requests in flight, shared by all of its
// transports (Options.MaxRequestBytesInFlight). A transport reserves a request's bytes before
// or while it reads them and refuses the request when the budget is spent (HTTP 503,
// [ErrServerBusy] from [Conn.ReadMessage]); it releases them once the request has been
// answered (for [Server.ServeConn], in [Releaser.Release]). Its methods are safe for
// concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// RequestBudget returns the server's budget for request bytes in flight.
func (s *Server) RequestBudget() *Budget { return &s.budget }

// Reserve takes n bytes from the budget and reports whether they were available; nothing is
// taken when they were not.
func (b *Budget) Reserve(n int) bool {
	for {
		used := b.used.Load()
		if used+int64(n) > b.limit && n > 0 {
			return false
		}
		if b.used.CompareAndSwap(used, used+int64(n)) {
			return true
		}
	}
}

// Release gives back n bytes taken with Reserve.
func (b *Budget) Release(n int) { b.used.Add(-int64(n)) }

// InUse returns the bytes reserved and not yet released, for metrics.
func (b *Budget) InUse() int { return int(b.used.Load()) }

// Limit returns the size of the budget in bytes; -1 when it has no limit.
func (b *Budget) Limit() int {
	if b.limit >= int64(unlimited) {
		return -1
	}
	return int(b.limit)
}
