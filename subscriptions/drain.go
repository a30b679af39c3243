package subscriptions

import "sync"

// Bounds of one burst: what the drain goroutine takes from the queue per Send.
const (
	burstMessages = 256
	burstBytes    = 256 << 10
	turnMessages  = 64 // taken from one subscription before the next one's turn
)

// taken is one notification in a burst, with the notices before it.
type taken struct {
	s *Subscription
	entry
}

// scratch is a drain goroutine's working memory, pooled: a drain runs only while something is
// queued, so a connection that publishes now and then would otherwise allocate it each time.
type scratch struct {
	burst []taken
	buf   []byte
	msgs  [][]byte
	ends  []int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// drain writes queued notifications in bursts until the queue is empty or the connection fails.
// At most one runs per connection; markReadyLocked starts it.
//
// A burst is a turn: when more is queued after it, the drain waits for its next turn (see
// turns), so that a connection pushing flat out takes turns with the calls of every connection
// rather than running on until preempted while they wait. Its scratch memory goes back to the
// pool meanwhile, so the drains waiting for their turn hold none.
func (c *Conn) drain() {
	defer c.drained.Done()
	for {
		more, ok := c.drainBurst()
		if !ok {
			return
		}
		if more {
			if c.turn == nil {
				c.turn = make(chan struct{}, 1)
			}
			turns.next(c.turn)
		}
	}
}

// drainBurst writes one burst. It reports whether more was queued when the burst was taken,
// and ok false when the drain ends: the queue was empty (draining is false again) or the
// connection failed.
func (c *Conn) drainBurst() (more, ok bool) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	c.mu.Lock()
	sc.burst = c.takeLocked(sc.burst[:0])
	if len(sc.burst) == 0 {
		c.draining = false
		c.mu.Unlock()
		return false, false
	}
	more = len(c.ready) > 0
	c.mu.Unlock()

	buf, ends := sc.buf[:0], sc.ends[:0]
	for i := range sc.burst {
		t := &sc.burst[i]
		if t.pos != nil {
			buf = t.s.appendPositionNotice(buf, t.pos)
			ends = append(ends, len(buf))
		}
		if t.lost > 0 {
			buf = t.s.appendLagNotice(buf, t.lost, t.lostFrom)
			ends = append(ends, len(buf))
		}
		if t.data != nil {
			buf = t.s.appendNotification(buf, &t.entry)
			ends = append(ends, len(buf))
		}
	}
	msgs := sc.msgs[:0]
	start := 0
	for _, e := range ends {
		msgs = append(msgs, buf[start:e:e])
		start = e
	}
	err := c.sink.Send(msgs)
	if err == nil && c.obs != nil {
		c.observe(sc.burst)
	}
	clear(sc.burst) // drop references to the data
	clear(msgs)     // and to the buffer, before the scratch is shared
	if cap(buf) > 4*burstBytes {
		buf = nil
	}
	sc.buf, sc.msgs, sc.ends = buf[:0], msgs[:0], ends[:0]
	if err != nil {
		c.mu.Lock()
		c.draining = false
		c.mu.Unlock()
		return false, false // the sink closes the connection, which ends the subscriptions
	}
	return more, true
}

// takeLocked moves up to one burst of notifications from the ready subscriptions into burst,
// giving each subscription a turn of turnMessages. Taken notifications leave the queue and its
// limits (a drop policy can only drop what is still queued), so a connection holds at most its
// queue's limits plus one burst.
func (c *Conn) takeLocked(burst []taken) []taken {
	size, n := 0, 0 // of the notifications taken out of the queue
	for len(c.ready) > 0 && len(burst) < burstMessages && size < burstBytes {
		s := c.ready[0]
		c.ready[0] = nil
		c.ready = c.ready[1:]
		if s.state != active {
			s.inReady = false
			continue
		}
		for i := 0; i < turnMessages && s.queued() > 0 && len(burst) < burstMessages; i++ {
			e := s.pop()
			burst = append(burst, taken{s: s, entry: e})
			size += s.size(&e)
			n++
		}
		if s.queued() == 0 && (s.lost > 0 || s.pos != nil) {
			burst = append(burst, taken{s: s, entry: entry{pos: s.pos, lost: s.lost, lostFrom: s.lostFrom}})
			s.lost, s.lostFrom, s.pos = 0, 0, nil
		}
		if s.queued() > 0 {
			c.ready = append(c.ready, s) // its next turn
		} else {
			s.inReady = false
		}
	}
	if len(c.ready) == 0 {
		c.ready = nil // let the backing array go
	}
	c.unqueueLocked(n, size)
	if len(burst) > 0 {
		c.wakeLocked()
	}
	return burst
}
