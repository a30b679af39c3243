package subscriptions

import "sync"

// topic is one topic of a Feed: its subscriptions on this node.
//
// Lock order: smu, then the broker's locks, then mu (a broker delivers holding its own topic
// lock), then each subscription's Conn. Joins and leaves cost O(1): a member knows its index.
type topic struct {
	name  string
	users int // guarded by Feed.mu: members and joins in progress; at 0 the topic is dropped

	smu        sync.Mutex // serialises the broker's Subscribe and Unsubscribe with joins and leaves
	subscribed bool       // guarded by smu

	mu      sync.Mutex // held while an event is delivered
	members []*member
	lastOff uint64 // the last event delivered, and how many subscriptions accepted it
	lastN   int
}

// member is one subscription of a topic. Guarded by topic.mu.
type member struct {
	s         *Subscription
	i         int  // index in topic.members
	gone      bool // left the topic
	buffering bool // joining: events are held in buf until the history has been read
	buf       []Event
	epoch     string // the position of the last event queued (or of the start)
	last      uint64
}

// acquire returns the topic, counting one more user.
func (f *Feed) acquire(name string) *topic {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.topics[name]
	if t == nil {
		if f.topics == nil {
			f.topics = make(map[string]*topic)
		}
		t = &topic{name: name}
		f.topics[name] = t
	}
	t.users++
	return t
}

// release counts one user less, dropping the topic after the last.
func (f *Feed) release(t *topic) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(f.topics, t.name)
	}
}

// join subscribes the broker to the topic for its first member and adds m, which then leaves
// by itself when its subscription ends.
func (f *Feed) join(b Broker, t *topic, m *member) error {
	t.smu.Lock()
	defer t.smu.Unlock()
	if !t.subscribed {
		if err := b.Subscribe(t.name); err != nil {
			return err
		}
		t.subscribed = true
	}
	t.mu.Lock()
	err := m.s.conn.onEnd(m.s, func() { f.leave(b, t, m) })
	if err == nil {
		m.i = len(t.members)
		t.members = append(t.members, m)
	}
	empty := len(t.members) == 0
	t.mu.Unlock()
	if empty {
		b.Unsubscribe(t.name)
		t.subscribed = false
	}
	return err
}

// leave removes m from the topic (once), unsubscribing the broker after the last member.
func (f *Feed) leave(b Broker, t *topic, m *member) {
	t.smu.Lock()
	t.mu.Lock()
	if m.gone {
		t.mu.Unlock()
		t.smu.Unlock()
		return
	}
	m.gone, m.buf = true, nil
	last := len(t.members) - 1
	moved := t.members[last]
	t.members[m.i], moved.i = moved, m.i
	t.members[last] = nil
	t.members = t.members[:last]
	if cap(t.members) > 64 && len(t.members) < cap(t.members)/4 {
		t.members = append([]*member(nil), t.members...) // let a large array go
	}
	empty := len(t.members) == 0
	t.mu.Unlock()
	if empty && t.subscribed {
		b.Unsubscribe(t.name)
		t.subscribed = false
	}
	t.smu.Unlock()
	f.release(t)
}

// deliver hands one event of the broker to the topic's members.
func (f *Feed) deliver(ev Event) {
	f.mu.RLock()
	t := f.topics[ev.Topic]
	f.mu.RUnlock()
	if t == nil {
		return // unsubscribed meanwhile
	}
	if f.Stamp != nil {
		ev.Data = f.Stamp(ev.Data, ev.Offset)
	}
	hold := f.maxReplay()
	t.mu.Lock()
	n := 0
	for _, m := range t.members {
		if m.buffering {
			m.hold(ev, hold)
			n++
		} else if m.take(ev) {
			n++
		}
	}
	t.lastOff, t.lastN = ev.Offset, n
	t.mu.Unlock()
}

// reached returns how many subscriptions accepted the event at off, if it was the last one
// delivered, or else how many the topic has.
func (f *Feed) reached(name string, off uint64) int {
	f.mu.RLock()
	t := f.topics[name]
	f.mu.RUnlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lastOff == off {
		return t.lastN
	}
	return len(t.members)
}

// hold keeps ev for a joining member, at most max of them: the oldest go first, and the gap
// shows when they are merged.
func (m *member) hold(ev Event, max int) {
	if len(m.buf) >= max {
		m.buf[0] = Event{}
		m.buf = m.buf[1:]
	}
	m.buf = append(m.buf, ev)
}

// take queues ev for the member unless it has had it, after a position notice (recovered
// false) when ev does not follow what the member had. It reports whether the subscription
// accepted it.
func (m *member) take(ev Event) bool {
	var p *position
	switch {
	case ev.Epoch != m.epoch:
		p = &position{epoch: ev.Epoch, offset: ev.Prev}
	case ev.Offset <= m.last:
		return false // replayed already
	case ev.Prev > m.last:
		p = &position{epoch: ev.Epoch, offset: ev.Prev}
	}
	m.epoch, m.last = ev.Epoch, ev.Offset
	return m.s.conn.enqueue(m.s, entry{data: ev.Data, off: ev.Offset, pos: p}) == nil
}

// catchUp starts a joining member's stream once the broker's history has been read: a
// position notice, the replayed events if since is recovered, then the events held meanwhile.
func (m *member) catchUp(since *Position, evs []Event, top Position, maxReplay int, stamp func([]byte, uint64) []byte) {
	start, recovered := top, true
	if since != nil {
		recovered = continues(*since, evs, top, maxReplay)
		if recovered {
			start.Offset = since.Offset
		} else {
			evs = nil
		}
	}
	m.epoch, m.last = start.Epoch, start.Offset
	m.s.conn.enqueue(m.s, entry{pos: &position{epoch: start.Epoch, offset: start.Offset, recovered: recovered}})
	if since != nil {
		for _, ev := range evs {
			if stamp != nil {
				ev.Data = stamp(ev.Data, ev.Offset)
			}
			m.take(ev)
		}
	}
	for _, ev := range m.buf {
		m.take(ev)
	}
	m.buf, m.buffering = nil, false
}

// continues reports whether evs, the history after since, continue since up to top: the same
// epoch, nothing forgotten in between, and at most max events.
func continues(since Position, evs []Event, top Position, max int) bool {
	switch {
	case since.Epoch != top.Epoch:
		return false
	case len(evs) == 0:
		return since.Offset == top.Offset
	case len(evs) > max:
		return false
	}
	return evs[0].Prev <= since.Offset
}
