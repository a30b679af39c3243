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
	c := NewConn(d, Limits{MaxQueued: -1, MaxQueuedBytes: -1})
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
		c := NewConn(&discard{}, Limits{MaxQueued: -1, MaxQueuedBytes: -1})
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
