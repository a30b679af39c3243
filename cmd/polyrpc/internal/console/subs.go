package console

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/polyrpc/polyrpc/rpc"
)

// isSubscribe reports whether req starts a subscription: NS_subscribe with the subscription's
// name as its first param.
func isSubscribe(req Request) bool {
	ns, ok := strings.CutSuffix(req.Method, "_subscribe")
	return ok && ns != "" && req.Named == nil && !req.Notify && len(req.Args) > 0 && req.Args[0][0] == '"'
}

// subList are the console's live subscriptions, numbered from 1. Each has a goroutine
// that prints its notifications; it ends when the subscription ends, and closeAll ends and
// waits for all of them.
type subList struct {
	c *Console

	mu   sync.Mutex
	next int
	live map[int]*liveSub
	wg   sync.WaitGroup
}

type liveSub struct {
	what string // the line that started it
	sub  *rpc.ClientSubscription
	stop chan struct{}
	once sync.Once
}

func (s *subList) init(c *Console) {
	s.c = c
	s.live = map[int]*liveSub{}
}

// start subscribes and prints the subscription's notifications as they arrive.
func (s *subList) start(ctx context.Context, req Request) {
	c := s.c
	cctx, done := c.callContext(ctx)
	defer done()
	ns, _ := strings.CutSuffix(req.Method, "_subscribe")
	ch := make(chan json.RawMessage, 64)
	sub, err := c.cfg.Client.Subscribe(cctx, ns, ch, req.Params()...)
	if err != nil {
		c.println(FormatError(describe(cctx, err), c.cfg.Color))
		return
	}
	var what strings.Builder
	what.WriteString(req.Method)
	for _, a := range req.Args {
		what.WriteString(" " + string(a))
	}
	ls := &liveSub{what: what.String(), sub: sub, stop: make(chan struct{})}
	s.mu.Lock()
	s.next++
	id := s.next
	s.live[id] = ls
	s.mu.Unlock()
	c.println(paintString(c.cfg.Color, colorDim, fmt.Sprintf("subscription %d (id %s): %s; .unsub %d ends it", id, sub.ID(), ls.what, id)))
	s.wg.Go(func() { s.pump(id, ls, ch) })
}

// pump prints the notifications of one subscription until it ends.
func (s *subList) pump(id int, ls *liveSub, ch <-chan json.RawMessage) {
	c := s.c
	tag := paintString(c.cfg.Color, colorDim, "["+strconv.Itoa(id)+"] ")
	defer func() {
		s.mu.Lock()
		delete(s.live, id)
		s.mu.Unlock()
	}()
	for {
		select {
		case v := <-ch:
			c.printAsync(tag + FormatJSON(v, c.cfg.Color, true))
		case n := <-ls.sub.Lagged():
			c.printAsync(tag + paintString(c.cfg.Color, colorError, fmt.Sprintf("the server dropped %d notifications: this console fell behind", n)))
		case err := <-ls.sub.Err():
			msg := "ended"
			if err != nil {
				msg = "ended: " + err.Error()
			}
			c.printAsync(tag + paintString(c.cfg.Color, colorDim, "subscription "+msg+"; .subs lists the live ones"))
			return
		case <-ls.stop:
			ls.sub.Unsubscribe()
			return
		}
	}
}

// stop ends the subscription numbered arg.
func (s *subList) stop(arg string) {
	id, err := strconv.Atoi(arg)
	s.mu.Lock()
	ls := s.live[id]
	s.mu.Unlock()
	if err != nil || ls == nil {
		s.c.println(paintString(s.c.cfg.Color, colorError, fmt.Sprintf("no subscription %q (.subs lists them)", arg)))
		return
	}
	ls.once.Do(func() { close(ls.stop) })
	s.c.println(paintString(s.c.cfg.Color, colorDim, fmt.Sprintf("subscription %d ended", id)))
}

// list prints the live subscriptions.
func (s *subList) list() {
	s.mu.Lock()
	ids := make([]int, 0, len(s.live))
	for id := range s.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "  %d  %s\n", id, s.live[id].what)
	}
	s.mu.Unlock()
	if len(ids) == 0 {
		b.WriteString("no subscriptions")
	}
	s.c.println(strings.TrimRight(b.String(), "\n"))
}

// closeAll ends every subscription and waits for their goroutines.
func (s *subList) closeAll() {
	s.mu.Lock()
	for _, ls := range s.live {
		ls.once.Do(func() { close(ls.stop) })
	}
	s.mu.Unlock()
	s.wg.Wait()
}
