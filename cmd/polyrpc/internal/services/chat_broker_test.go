package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// chatSession serves chat on a session whose messages the test reads raw.
type chatSession struct {
	t     *testing.T
	ss    *rpc.Session
	inbox *rpctest.Inbox
	next  int
	held  [][]byte // notifications received while waiting for an answer
}

func newChatSession(t *testing.T, chat *Chat) *chatSession {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	if err := srv.Register("chat", chat.API()); err != nil {
		t.Fatal(err)
	}
	inbox := rpctest.NewInbox()
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	return &chatSession{t: t, ss: ss, inbox: inbox}
}

// call sends a request and returns its answer's result.
func (c *chatSession) call(method string, params ...any) json.RawMessage {
	c.t.Helper()
	c.next++
	p, _ := json.Marshal(params)
	if err := c.ss.Handle(context.Background(), fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, c.next, method, p)); err != nil {
		c.t.Fatal(err)
	}
	var answer struct {
		ID     int
		Method string
		Result json.RawMessage
		Error  *struct{ Message string }
	}
	for {
		m := c.recv()
		answer.Method = ""
		json.Unmarshal(m, &answer)
		if answer.Method == "" {
			break
		}
		c.held = append(c.held, m)
	}
	if answer.ID != c.next {
		c.t.Fatalf("%s: answer to %d", method, answer.ID)
	}
	if answer.Error != nil {
		c.t.Fatalf("%s: %s", method, answer.Error.Message)
	}
	return answer.Result
}

func (c *chatSession) recv() []byte {
	c.t.Helper()
	m, err := c.inbox.Recv(5 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

type notice struct {
	Method string
	Params struct {
		Subscription string
		Result       json.RawMessage
		Offset       uint64
		Epoch        string
		Recovered    bool
	}
}

func (c *chatSession) notice() notice {
	c.t.Helper()
	var m []byte
	if len(c.held) > 0 {
		m, c.held = c.held[0], c.held[1:]
	} else {
		m = c.recv()
	}
	var n notice
	if err := json.Unmarshal(m, &n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// TestChatOnTheBroker: a message's id is its offset; subscribers receive exactly what
// chat_send returned, with the offset next to it; chat_history returns the same; and a
// subscriber resumes from a message's position.
func TestChatOnTheBroker(t *testing.T) {
	c := newChatSession(t, NewChat(0, 0))
	var sub string
	json.Unmarshal(c.call("chat_subscribe", "messages", "lobby"), &sub)
	start := c.notice()
	if start.Method != "chat_subscriptionPosition" || start.Params.Subscription != sub || start.Params.Epoch == "" || !start.Params.Recovered {
		t.Fatalf("first notice %+v", start)
	}
	var sent []json.RawMessage
	for _, text := range []string{"one", "two", "three"} {
		sent = append(sent, c.call("chat_send", "lobby", "ann", text))
		n := c.notice()
		if n.Method != "chat_subscription" || string(n.Params.Result) != string(sent[len(sent)-1]) {
			t.Fatalf("notification\n%s\nfor the message\n%s", n.Params.Result, sent[len(sent)-1])
		}
		var m Message
		json.Unmarshal(n.Params.Result, &m)
		if m.ID != n.Params.Offset || m.ID == 0 {
			t.Fatalf("message id %d, offset %d", m.ID, n.Params.Offset)
		}
	}
	if got := string(c.call("chat_history", "lobby", 10)); got != "["+string(sent[0])+","+string(sent[1])+","+string(sent[2])+"]" {
		t.Fatalf("history %s", got)
	}
	var first Message
	json.Unmarshal(sent[0], &first)
	json.Unmarshal(c.call("chat_subscribe", "messages", "lobby", subscriptions.Position{Epoch: start.Params.Epoch, Offset: first.ID}), &sub)
	if n := c.notice(); n.Params.Subscription != sub || !n.Params.Recovered || n.Params.Offset != first.ID {
		t.Fatalf("resume notice %+v", n)
	}
	for _, want := range sent[1:] {
		if n := c.notice(); string(n.Params.Result) != string(want) {
			t.Fatalf("replayed %s, want %s", n.Params.Result, want)
		}
	}
	c.call("chat_subscribe", "messages", "lobby", subscriptions.Position{Epoch: "before-a-restart", Offset: first.ID})
	if n := c.notice(); n.Params.Recovered {
		t.Fatalf("resumed across epochs: %+v", n)
	}
}

// down is a broker that cannot be reached.
type down struct{}

var errDown = errors.New("connection refused")

func (down) Start(subscriptions.Handler) error { return nil }
func (down) Publish(context.Context, string, []byte) (subscriptions.Position, error) {
	return subscriptions.Position{}, errDown
}
func (down) Subscribe(string) error   { return errDown }
func (down) Unsubscribe(string) error { return errDown }
func (down) History(context.Context, string, *subscriptions.Position, int) ([]subscriptions.Event, subscriptions.Position, error) {
	return nil, subscriptions.Position{}, errDown
}

// TestChatBrokerDown: with the broker unreachable, every call says so; nothing is reported sent.
func TestChatBrokerDown(t *testing.T) {
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	srv.Register("chat", NewChatOn(down{}).API())
	inbox := rpctest.NewInbox()
	ss, _ := srv.NewSession(context.Background(), rpc.ConnOptions{}, inbox)
	defer ss.Close()
	for _, req := range []string{
		`"chat_send","params":["lobby","ann","hi"]`,
		`"chat_history","params":["lobby"]`,
		`"chat_rooms","params":[]`,
		`"chat_subscribe","params":["messages","lobby"]`,
	} {
		ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":`+req+`}`))
		m, err := inbox.Recv(5 * time.Second)
		if err != nil || !strings.Contains(string(m), `"code":-32000`) || !strings.Contains(string(m), "chat: ") {
			t.Errorf("%s: %s, %v", req, m, err)
		}
	}
}
