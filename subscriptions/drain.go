package subscriptions

// Bounds of one burst: what the drain goroutine takes from the queue per Send.
const (
	burstMessages = 256
	burstBytes    = 256 << 10
	turnMessages  = 64 // taken from one subscription before the next one's turn
)

// taken is one notification in a burst.
type taken struct {
	s    *Subscription
	data []byte // nil for a lone lag notice
	lost uint64
}

// drain writes queued notifications in bursts until the queue is empty or the connection fails.
// At most one runs per connection; markReadyLocked starts it.
func (c *Conn) drain() {
	defer c.drained.Done()
	var (
		burst []taken
		buf   []byte
		msgs  [][]byte
		ends  []int
	)
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
		for _, t := range burst {
			if t.lost > 0 {
				buf = t.s.appendLagNotice(buf, t.lost)
				ends = append(ends, len(buf))
			}
			if t.data != nil {
				buf = append(buf, t.s.head...)
				buf = append(buf, t.data...)
				buf = append(buf, "}}\n"...) // closes what wire.AppendNotificationHead opened
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
			burst = append(burst, taken{s: s, data: e.data, lost: e.lost})
			size += s.size(e.data)
			c.queued--
			c.bytes -= s.size(e.data)
		}
		if s.queued() == 0 && s.lost > 0 {
			burst = append(burst, taken{s: s, lost: s.lost})
			s.lost = 0
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
