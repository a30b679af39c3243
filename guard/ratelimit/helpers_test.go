package ratelimit_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// svc is the service the tests limit, registered as "a" and "b".
type svc struct{ started, gate chan struct{} }

func (s *svc) Echo(v int) int { return v }

// Slow says it started, then returns when the gate receives.
func (s *svc) Slow() int {
	s.started <- struct{}{}
	<-s.gate
	return 1
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a server limited by rules, with a fake clock, recording refusals.
type env struct {
	t       *testing.T
	srv     *rpc.Server
	lim     *ratelimit.Limiter
	clock   *clock
	svc     *svc
	mu      sync.Mutex
	refused []string // "REMOTE reason"
}

func newEnv(t *testing.T, opts *ratelimit.Options, rules ...ratelimit.Rule) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Unix(1_000_000, 0)}, svc: &svc{started: make(chan struct{}, 10), gate: make(chan struct{})}}
	if opts == nil {
		opts = &ratelimit.Options{}
	}
	opts.Refused = func(c *rpc.ConnInfo, reason string) {
		e.mu.Lock()
		e.refused = append(e.refused, c.Peer.RemoteAddr+" "+reason)
		e.mu.Unlock()
	}
	var err error
	if e.lim, err = ratelimit.New(rules, opts); err != nil {
		t.Fatal(err)
	}
	ratelimit.SetClock(e.lim, e.clock.now)
	e.srv = rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{e.lim.Middleware()}})
	for _, ns := range []string{"a", "b"} {
		if err := e.srv.Register(ns, e.svc); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(e.srv.Stop)
	return e
}

// answers collects what a session writes.
type answers struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (a *answers) WriteMessage(m []byte) error {
	a.mu.Lock()
	a.msgs = append(a.msgs, append([]byte(nil), m...))
	a.mu.Unlock()
	return nil
}

// session opens a session from remote (an address "IP:port"), with principal p.
func (e *env) session(remote string, p any) (*rpc.Session, *answers) {
	e.t.Helper()
	a := &answers{}
	ss, err := e.srv.NewSession(context.Background(), rpc.ConnOptions{
		Peer: rpc.PeerInfo{Transport: rpc.TransportWS, RemoteAddr: remote}, Principal: p}, a)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ss.Close() })
	return ss, a
}

// answer is one JSON-RPC answer, as the tests look at it.
type answer struct {
	ID    int `json:"id"`
	Error *struct {
		Code int                  `json:"code"`
		Data *ratelimit.RetryData `json:"data"`
	} `json:"error"`
}

// call sends msg on ss and returns the answers written (a batch's, or one).
func call(t *testing.T, ss *rpc.Session, a *answers, msg string) []answer {
	t.Helper()
	a.mu.Lock()
	a.msgs = nil
	a.mu.Unlock()
	if err := ss.Handle(context.Background(), []byte(msg)); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.msgs) == 0 {
		return nil
	}
	var out []answer
	if a.msgs[0][0] == '[' {
		if err := json.Unmarshal(a.msgs[0], &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	out = make([]answer, 1)
	if err := json.Unmarshal(a.msgs[0], &out[0]); err != nil {
		t.Fatal(err)
	}
	return out
}

// limited returns the retryAfterMs of a -32005 answer, or -1 when ans is not one; it fails on
// a -32005 without it.
func limited(t *testing.T, ans answer) int64 {
	t.Helper()
	switch {
	case ans.Error == nil || ans.Error.Code != rpc.CodeServerBusy:
		return -1
	case ans.Error.Data == nil:
		t.Fatalf("answer %d: error %+v, want -32005 with retryAfterMs", ans.ID, ans.Error)
	}
	return ans.Error.Data.RetryAfterMs
}

// localClient returns a client of the server over the in-process transport.
func (e *env) localClient(t *testing.T) *rpc.Client {
	t.Helper()
	c, err := inproc.Dial(e.srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
