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
func (c *Conn) drain() {
	defer c.drained.Done()
	sc := scratchPool.Get().(*scratch)
	burst, buf, msgs, ends := sc.burst, sc.buf, sc.msgs, sc.ends
	defer func() {
		clear(msgs[:cap(msgs)]) // drop references to the buffer before it is shared
		*sc = scratch{burst: burst[:0], buf: buf[:0], msgs: msgs[:0], ends: ends[:0]}
		scratchPool.Put(sc)
	}()
	for {
		c.mu.Lock()
		burst = c.takeLocked(burst[:0])
		if len(burst) == 0 {
			c.draining = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		buf, ends = buf[:0], ends[:0]
		for i := range burst {
			t := &burst[i]
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
		msgs = msgs[:0]
		start := 0
		for _, e := range ends {
			msgs = append(msgs, buf[start:e:e])
			start = e
		}
		err := c.sink.Send(msgs)
		if err == nil && c.obs != nil {
			c.observe(burst)
		}
		clear(burst) // drop references to the data
		if err != nil {
			c.mu.Lock()
			c.draining = false
			c.mu.Unlock()
			return // the sink closes the connection, which ends the subscriptions
		}
		if cap(buf) > 4*burstBytes {
			buf = nil
		}
	}
}

// takeLocked moves up to one burst of notifications from the ready subscriptions into burst,
// giving each subscription a turn of turnMessages. Taken notifications leave the queue and its
// limits (a drop policy can only drop what is still queued), so a connection holds at most its
// queue's limits plus one burst.
func (c *Conn) takeLocked(burst []taken) []taken {
	size := 0
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
			n := s.size(&e)
			size += n
			c.queued--
			c.bytes -= n
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
	if len(burst) > 0 {
		c.wakeLocked()
	}
	return burst
}
