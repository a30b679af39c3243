package subscriptions

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// discard is a sink that counts what it is given.
type discard struct{ n atomic.Int64 }

func (d *discard) Send(msgs [][]byte) error {
	d.n.Add(int64(len(msgs)))
	return nil
}
func (d *discard) Close(error) {}

type header struct {
	Number     uint64 `json:"number"`
	Hash       string `json:"hash"`
	ParentHash string `json:"parentHash"`
	GasUsed    uint64 `json:"gasUsed"`
}

// BenchmarkNotify measures Notify and delivery of one notification (encoding, queueing, the
// burst that writes it) into a sink that discards it.
func BenchmarkNotify(b *testing.B) {
	d := &discard{}
	c := NewConn(d, Limits{MaxQueued: -1, MaxQueuedBytes: -1}, nil)
	n, _ := c.Begin("eth")
	s := n.CreateSubscription()
	c.Finish(n, true)
	h := header{Number: 1, Hash: "0x" + fmt.Sprintf("%064x", 1), ParentHash: "0x" + fmt.Sprintf("%064x", 0), GasUsed: 21000}
	b.ReportAllocs()
	for b.Loop() {
		s.Notify(h)
	}
	c.Close(ErrConnClosed)
}

// BenchmarkFeedPublish measures one Publish to 100 subscriptions on 10 connections.
func BenchmarkFeedPublish(b *testing.B) {
	var f Feed
	var conns []*Conn
	for range 10 {
		c := NewConn(&discard{}, Limits{MaxQueued: -1, MaxQueuedBytes: -1}, nil)
		conns = append(conns, c)
		for range 10 {
			n, _ := c.Begin("chat")
			s := n.CreateSubscription()
			c.Finish(n, true)
			f.Subscribe("room", s)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Publish("room", "hello, room")
	}
	for _, c := range conns {
		c.Close(ErrConnClosed)
	}
}

// benchSubs returns conns connections (sinks that discard, no queue limits) with per active
// subscriptions each.
func benchSubs(conns, per int) ([]*Conn, []*Subscription) {
	var cs []*Conn
	var subs []*Subscription
	for range conns {
		c := NewConn(&discard{}, Limits{MaxSubscriptions: -1, MaxQueued: -1, MaxQueuedBytes: -1}, nil)
		cs = append(cs, c)
		for range per {
			n, _ := c.Begin("chat")
			s := n.CreateSubscription()
			c.Finish(n, true)
			subs = append(subs, s)
		}
	}
	return cs, subs
}

func closeAll(conns []*Conn) {
	for _, c := range conns {
		c.Close(ErrConnClosed)
	}
}

// BenchmarkFeedJoin10000 measures 10 000 subscriptions (on 100 connections) joining one topic.
func BenchmarkFeedJoin10000(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		conns, subs := benchSubs(100, 100)
		var f Feed
		b.StartTimer()
		for _, s := range subs {
			f.Subscribe("room", s)
		}
		b.StopTimer()
		closeAll(conns)
		b.StartTimer()
	}
}

// BenchmarkFeedLeave10000 measures 10 000 subscriptions leaving a topic (unsubscribed one by one).
func BenchmarkFeedLeave10000(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		conns, subs := benchSubs(100, 100)
		var f Feed
		for _, s := range subs {
			f.Subscribe("room", s)
		}
		b.StartTimer()
		for _, s := range subs {
			s.Unsubscribe()
		}
		b.StopTimer()
		closeAll(conns)
		b.StartTimer()
	}
}

// BenchmarkFeedPublish10000 measures one Publish to 10 000 subscriptions on 100 connections.
func BenchmarkFeedPublish10000(b *testing.B) {
	conns, subs := benchSubs(100, 100)
	var f Feed
	for _, s := range subs {
		f.Subscribe("room", s)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Publish("room", "hello, room")
	}
	b.StopTimer()
	closeAll(conns)
}
