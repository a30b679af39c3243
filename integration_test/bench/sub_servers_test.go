package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// This file starts the servers the subscription benchmarks compare, each with a "ticks"
// subscription in namespace "nftest" (nftest_subscribe ["ticks", n, start]: the integers start,
// start+1, …, start+n-1, none lost), on WebSocket and IPC:
//
//   - polyrpc: rpctest.Subs (the reference service, whose Ticks sends with NotifyWait) on
//     wsrpc.NewHandler and ipc.Serve, defaults everywhere;
//   - geth: gethSubs below (Ticks calls Notifier.Notify in a loop; each call writes one message)
//     on Server.WebsocketHandler and Server.ServeListener;
//   - ceiling: a raw server that answers the subscribe request and writes the notifications
//     from a prebuilt head (everything up to the result) with the integer appended, into a
//     64 KiB buffered writer flushed when full or idle: on WebSocket one unmasked text frame
//     per notification, on IPC one line per notification. Its messages are byte for byte the
//     shape of the others' (ids of the same length as polyrpc's).

// gethSubs is the go-ethereum service with the ticks subscription. active counts its
// subscriptions whose producer has not yet seen the subscription end.
type gethSubs struct {
	active atomic.Int64
}

// Ticks sends n consecutive integers from start, then keeps the subscription open until it
// ends (unsubscribe or connection closed).
func (s *gethSubs) Ticks(ctx context.Context, n, start int) (*gethrpc.Subscription, error) {
	notifier, ok := gethrpc.NotifierFromContext(ctx)
	if !ok {
		return nil, gethrpc.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	s.active.Add(1)
	go func() {
		defer s.active.Add(-1)
		for i := range n {
			if notifier.Notify(sub.ID, start+i) != nil {
				break // the connection failed
			}
		}
		<-sub.Err()
	}()
	return sub, nil
}

// hostSubServers starts the WebSocket and IPC subscription servers of kind in this process
// (target fields SubWS and SubIPC). Close them with target.close.
func hostSubServers(kind string) (*netTarget, error) {
	t := &netTarget{Kind: kind}
	var wsH http.Handler
	var serveIPC func(net.Listener)
	var polySrv *rpc.Server
	switch kind {
	case "polyrpc":
		srv := rpc.NewServer(&rpc.Options{Logger: subLogger()})
		// rpctest.Subs's Ticks: NotifyWait in a loop, one goroutine per subscription.
		if err := srv.Register("nftest", &rpctest.Subs{}, rpc.WithParamNames("Ticks", "n", "start")); err != nil {
			return nil, err
		}
		polySrv = srv
		t.closers = append(t.closers, srv.Stop)
		wsH = wsrpc.NewHandler(srv, nil)
	case "geth":
		srv := gethrpc.NewServer()
		if err := srv.RegisterName("nftest", &gethSubs{}); err != nil {
			return nil, err
		}
		t.closers = append(t.closers, srv.Stop)
		wsH = srv.WebsocketHandler([]string{"*"})
		serveIPC = func(ln net.Listener) { srv.ServeListener(ln) }
	case "ceiling":
		c := &subCeiling{ceilingIPC{conns: map[net.Conn]struct{}{}}}
		t.closers = append(t.closers, c.closeAll)
		wsH, serveIPC = http.HandlerFunc(c.serveWS), c.serveIPC
	default:
		return nil, fmt.Errorf("unknown server kind %q", kind)
	}
	var err error
	if t.SubWS, err = t.listenHTTP(wsH); err == nil {
		t.SubIPC, err = t.listenIPC(polySrv, serveIPC)
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// --- the raw ceiling ---

// subCeiling is the ceiling's servers: per connection, a reader that parses requests
// (nftest_subscribe ["ticks", n, start] and nftest_unsubscribe [id]; anything else is answered
// with an error) and hands them to one writer, which answers them and writes the notifications
// of the connection's subscriptions in turns of ceilingTurn.
type subCeiling struct {
	ceilingIPC // for its connection set and closeAll
}

const ceilingTurn = 64

func (c *subCeiling) track(nc net.Conn) func() {
	c.mu.Lock()
	c.conns[nc] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.conns, nc)
		c.mu.Unlock()
		nc.Close()
	}
}

func (c *subCeiling) serveIPC(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.track(nc)()
			reqs := make(chan []byte, 16)
			go func() {
				defer close(reqs)
				br := bufio.NewReaderSize(nc, 16<<10)
				for {
					line, err := br.ReadBytes('\n')
					if len(line) > 0 {
						reqs <- line
					}
					if err != nil {
						return
					}
				}
			}()
			ceilingWrite(nc, false, reqs)
			nc.Close()
			for range reqs { // until the reader has returned
			}
		}()
	}
}

// serveWS upgrades with gorilla/websocket and reads requests through it, but writes its frames
// itself on the raw connection (gorilla writes one system call per message): the client sends
// no pings, so gorilla never writes.
func (c *subCeiling) serveWS(w http.ResponseWriter, r *http.Request) {
	var up websocket.Upgrader
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	nc := ws.NetConn()
	defer c.track(nc)()
	reqs := make(chan []byte, 16)
	go func() {
		defer close(reqs)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			reqs <- msg
		}
	}()
	ceilingWrite(nc, true, reqs)
	nc.Close()
	for range reqs {
	}
}

// ceilingSub is one subscription of a ceiling connection.
type ceilingSub struct {
	id         string
	head       []byte // {"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"0x…","result":
	next, stop int64
}

// ceilingRequest is what the ceiling reads of a request.
type ceilingRequest struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

// ceilingWrite is a ceiling connection's writer: it answers the requests from reqs and writes
// notifications until reqs is closed (the connection ended) or a write fails.
func ceilingWrite(w io.Writer, ws bool, reqs <-chan []byte) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var subs []*ceilingSub
	var msg []byte
	frame := func(m []byte) error {
		if ws {
			bw.WriteByte(0x81) // FIN, text
			if len(m) < 126 {
				bw.WriteByte(byte(len(m)))
			} else { // messages stay < 64 KiB
				bw.WriteByte(126)
				bw.WriteByte(byte(len(m) >> 8))
				bw.WriteByte(byte(len(m)))
			}
		}
		_, err := bw.Write(m)
		return err
	}
	handle := func(req []byte) error {
		var r ceilingRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return err
		}
		msg = append(msg[:0], `{"jsonrpc":"2.0","id":`...)
		msg = append(msg, r.ID...)
		switch {
		case r.Method == "nftest_subscribe" && len(r.Params) == 3 && string(r.Params[0]) == `"ticks"`:
			n, err1 := strconv.ParseInt(string(r.Params[1]), 10, 64)
			start, err2 := strconv.ParseInt(string(r.Params[2]), 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			var b [16]byte
			rand.Read(b[:])
			s := &ceilingSub{id: "0x" + hex.EncodeToString(b[:]), next: start, stop: start + n}
			s.head = []byte(`{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"` + s.id + `","result":`)
			subs = append(subs, s)
			msg = append(msg, `,"result":"`+s.id+`"}`+"\n"...)
		case r.Method == "nftest_unsubscribe" && len(r.Params) == 1:
			found := false
			for i, s := range subs {
				if `"`+s.id+`"` == string(r.Params[0]) {
					subs, found = append(subs[:i], subs[i+1:]...), true
					break
				}
			}
			msg = append(msg, `,"result":`+strconv.FormatBool(found)+"}\n"...)
		default:
			msg = append(msg, `,"error":{"code":-32601,"message":"the ceiling has no such method"}}`+"\n"...)
		}
		return frame(msg)
	}
	for {
		if !pending(subs) {
			if bw.Flush() != nil {
				return
			}
			req, ok := <-reqs
			if !ok || handle(req) != nil {
				return
			}
			continue
		}
		for more := true; more; { // the requests already there
			select {
			case req, ok := <-reqs:
				if !ok || handle(req) != nil {
					return
				}
			default:
				more = false
			}
		}
		for _, s := range subs {
			for i := 0; i < ceilingTurn && s.next < s.stop; i++ {
				msg = append(msg[:0], s.head...)
				msg = strconv.AppendInt(msg, s.next, 10)
				msg = append(msg, "}}\n"...)
				if frame(msg) != nil {
					return
				}
				s.next++
			}
		}
	}
}

// pending reports whether a subscription has notifications left to write.
func pending(subs []*ceilingSub) bool {
	for _, s := range subs {
		if s.next < s.stop {
			return true
		}
	}
	return false
}

func subLogger() *slog.Logger {
	if os.Getenv("POLYRPC_BENCH_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}
