package services

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// newChatClient serves a chat keeping keep messages per room and maxRooms rooms, and returns
// an in-process client to it.
func newChatClient(t *testing.T, keep, maxRooms int) (*Chat, *rpc.Client) {
	t.Helper()
	srv := rpc.NewServer(nil)
	t.Cleanup(srv.Stop)
	chat := NewChat(keep, maxRooms)
	if err := srv.Register("chat", chat.API()); err != nil {
		t.Fatal(err)
	}
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return chat, c
}

func TestChatValidation(t *testing.T) {
	_, c := newChatClient(t, 0, 0)
	ctx := context.Background()
	for _, tt := range []struct {
		name             string
		room, user, text string
		want             string // part of the -32602 message; "" for success
	}{
		{"ok", "lobby", "ann", "hello", ""},
		{"dots dashes underscores", "a.b-c_d", "A.9", "x", ""},
		{"empty room", "", "ann", "hi", "invalid room"},
		{"long room", strings.Repeat("r", 33), "ann", "hi", "1 to 32"},
		{"slash in room", "a/b", "ann", "hi", `invalid room "a/b"`},
		{"space in name", "lobby", "a b", "hi", "invalid name"},
		{"unicode name", "lobby", "zoë", "hi", "invalid name"},
		{"empty text", "lobby", "ann", "", "invalid text"},
		{"long text", "lobby", "ann", strings.Repeat("x", 2001), "1 to 2000 bytes"},
		{"escape", "lobby", "ann", "a\x1b[2Jb", "control character"},
		{"newline and tab", "lobby", "ann", "a\n\tb", ""},
		{"2000 bytes", "lobby", "ann", strings.Repeat("é", 1000), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			err := c.Call(ctx, &m, "chat_send", tt.room, tt.user, tt.text)
			if tt.want == "" {
				if err != nil || m.Text != tt.text || m.Room != tt.room || m.Name != tt.user || m.ID == 0 || m.Time.IsZero() {
					t.Fatalf("got %+v, %v", m, err)
				}
				return
			}
			var e *rpc.Error
			if !errors.As(err, &e) || e.Code != -32602 || !strings.Contains(e.Message, tt.want) {
				t.Fatalf("got %v, want -32602 containing %q", err, tt.want)
			}
		})
	}
}

func TestChatHistory(t *testing.T) {
	_, c := newChatClient(t, 5, 0)
	ctx := context.Background()
	for i := range 12 {
		if err := c.Call(ctx, nil, "chat_send", "r", "u", strings.Repeat("x", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	c.Call(ctx, nil, "chat_send", "other", "u", "elsewhere")
	for _, tt := range []struct {
		limit     any // nil: absent
		want      int
		wantFirst int // length of the first text
		errPart   string
	}{
		{limit: nil, want: 5, wantFirst: 8},
		{limit: 2, want: 2, wantFirst: 11},
		{limit: 500, want: 5, wantFirst: 8},
		{limit: 0, errPart: "invalid limit 0"},
		{limit: 501, errPart: "want 1 to 500"},
	} {
		var got []Message
		var err error
		if tt.limit == nil {
			err = c.Call(ctx, &got, "chat_history", "r")
		} else {
			err = c.Call(ctx, &got, "chat_history", "r", tt.limit)
		}
		if tt.errPart != "" {
			var e *rpc.Error
			if !errors.As(err, &e) || e.Code != -32602 || !strings.Contains(e.Message, tt.errPart) {
				t.Errorf("limit %v: got %v, want -32602 %q", tt.limit, err, tt.errPart)
			}
			continue
		}
		if err != nil || len(got) != tt.want || len(got[0].Text) != tt.wantFirst {
			t.Errorf("limit %v: got %d messages (%v), want %d from text length %d", tt.limit, len(got), err, tt.want, tt.wantFirst)
			continue
		}
		for i := 1; i < len(got); i++ {
			if got[i].ID <= got[i-1].ID || got[i].Room != "r" {
				t.Errorf("limit %v: not oldest first in room r: %+v", tt.limit, got)
			}
		}
	}
	var none []Message
	if err := c.CallNamed(ctx, &none, "chat_history", map[string]any{"room": "empty", "limit": 3}); err != nil || none == nil || len(none) != 0 {
		t.Errorf("empty room: %v, %v; want [] ", none, err)
	}
}

// TestValidText: invalid UTF-8 cannot arrive through JSON (decoding replaces it), so the
// check is tested directly.
func TestValidText(t *testing.T) {
	if err := validText("a\xffb"); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

// TestChatRoomLimit: past the room limit the least recently active room is forgotten.
func TestChatRoomLimit(t *testing.T) {
	chat, c := newChatClient(t, 0, 3)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tick int
	chat.now = func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Second) }
	ctx := context.Background()
	for _, room := range []string{"a", "b", "c", "a", "d"} { // b is the least recent when d comes
		if err := c.Call(ctx, nil, "chat_send", room, "u", "hi"); err != nil {
			t.Fatal(err)
		}
	}
	var rooms []RoomInfo
	if err := c.Call(ctx, &rooms, "chat_rooms"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rooms {
		names = append(names, r.Room)
	}
	if strings.Join(names, ",") != "a,c,d" {
		t.Errorf("rooms %v, want a,c,d", names)
	}
}

// TestChatSubscribe: a subscriber of a room receives the messages sent to it, in order, and
// none of other rooms; a bad room is refused.
func TestChatSubscribe(t *testing.T) {
	_, c := newChatClient(t, 0, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch := make(chan Message, 10)
	sub, err := c.Subscribe(ctx, "chat", ch, "messages", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for _, m := range [][2]string{{"other", "not this"}, {"lobby", "one"}, {"lobby", "two"}} {
		if err := c.Call(ctx, nil, "chat_send", m[0], "ann", m[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one", "two"} {
		select {
		case m := <-ch:
			if m.Text != want || m.Room != "lobby" {
				t.Fatalf("got %+v, want %q in lobby", m, want)
			}
		case <-ctx.Done():
			t.Fatalf("no message %q", want)
		}
	}
	var e *rpc.Error
	if _, err := c.Subscribe(ctx, "chat", ch, "messages", "bad room"); !errors.As(err, &e) || e.Code != -32602 {
		t.Errorf("bad room: %v", err)
	}
}
