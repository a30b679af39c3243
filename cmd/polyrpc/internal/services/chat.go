package services

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Limits of the chat service.
const (
	MaxNameLen        = 32   // room and user names: 1 to 32 of A-Z a-z 0-9 - _ .
	MaxTextBytes      = 2000 // a message's text, valid UTF-8
	MaxHistoryLimit   = 500  // the largest limit chat_history accepts
	DefaultHistory    = 50   // chat_history's limit when none is given
	DefaultRoomBuffer = 1000 // messages kept per room
	DefaultMaxRooms   = 1000 // rooms kept; the least recently active one is forgotten first
)

// Message is one chat message.
type Message struct {
	ID   uint64    `json:"id"` // increasing across all rooms
	Room string    `json:"room"`
	Name string    `json:"name"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}

// Chat is a set of chat rooms, each keeping its latest messages. Register [Chat.API] as
// namespace chat: chat_send, chat_history, chat_rooms and the subscription
// chat_subscribe("messages", room).
type Chat struct {
	keep     int // messages kept per room
	maxRooms int
	now      func() time.Time

	mu     sync.Mutex
	rooms  map[string]*room
	nextID uint64
	feed   subscriptions.Feed // live subscribers per room
}

type room struct {
	msgs []Message // the newest at the end; at most 2*keep, trimmed to keep
	last time.Time // time of the last message
}

// NewChat returns a chat that keeps up to keep messages per room and up to maxRooms rooms
// (zero or less: the defaults).
func NewChat(keep, maxRooms int) *Chat {
	if keep <= 0 {
		keep = DefaultRoomBuffer
	}
	if maxRooms <= 0 {
		maxRooms = DefaultMaxRooms
	}
	return &Chat{keep: keep, maxRooms: maxRooms, now: time.Now, rooms: make(map[string]*room)}
}

// API returns the receiver to register as namespace chat.
func (c *Chat) API() any { return chatAPI{c} }

// RoomInfo is one entry of chat_rooms.
type RoomInfo struct {
	Room     string    `json:"room"`
	Messages int       `json:"messages"`
	Last     time.Time `json:"last"`
}

type chatAPI struct{ c *Chat }

// Send posts text to room under name and returns the stored message.
//
// Room and name are 1 to 32 letters, digits, '-', '_' or '.'; text is 1 to 2000 bytes of UTF-8
// without control characters other than newline and tab. Each room keeps its last 1000
// messages.
//
// Errors:
//
//	-32602 an invalid room, name or text
func (api chatAPI) Send(room, name, text string) (Message, error) {
	if err := validName("room", room); err != nil {
		return Message{}, err
	}
	if err := validName("name", name); err != nil {
		return Message{}, err
	}
	if err := validText(text); err != nil {
		return Message{}, err
	}
	return api.c.send(room, name, text), nil
}

// History returns the room's latest messages, oldest first.
//
// limit is 1 to 500 (absent: 50). A room nobody has written to has no messages.
//
// Errors:
//
//	-32602 an invalid room or limit
func (api chatAPI) History(room string, limit *int) ([]Message, error) {
	if err := validName("room", room); err != nil {
		return nil, err
	}
	n := DefaultHistory
	if limit != nil {
		n = *limit
	}
	if n < 1 || n > MaxHistoryLimit {
		return nil, invalidParams(fmt.Sprintf("invalid limit %d: want 1 to %d", n, MaxHistoryLimit))
	}
	return api.c.history(room, n), nil
}

// Rooms lists the rooms that have messages, by name.
func (api chatAPI) Rooms() []RoomInfo {
	c := api.c
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]RoomInfo, 0, len(c.rooms))
	for name, r := range c.rooms {
		out = append(out, RoomInfo{Room: name, Messages: min(len(r.msgs), c.keep), Last: r.last})
	}
	slices.SortFunc(out, func(a, b RoomInfo) int { return cmp.Compare(a.Room, b.Room) })
	return out
}

// Messages streams every message sent to room from now on.
//
// A subscriber that does not keep up loses its oldest queued messages (with a lag notice)
// rather than its connection.
//
// Notifies: Message
//
// Errors:
//
//	-32602 an invalid room
func (api chatAPI) Messages(ctx context.Context, room string) (*subscriptions.Subscription, error) {
	if err := validName("room", room); err != nil {
		return nil, err
	}
	n, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := n.CreateSubscription(subscriptions.WithPolicy(subscriptions.DropOldest))
	api.c.feed.Subscribe(room, sub)
	return sub, nil
}

func (c *Chat) send(roomName, name, text string) Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[roomName]
	if r == nil {
		if len(c.rooms) >= c.maxRooms {
			c.evictLocked()
		}
		r = &room{}
		c.rooms[roomName] = r
	}
	c.nextID++
	m := Message{ID: c.nextID, Room: roomName, Name: name, Text: text, Time: c.now().UTC()}
	r.msgs = append(r.msgs, m)
	if len(r.msgs) >= 2*c.keep {
		r.msgs = append(r.msgs[:0], r.msgs[len(r.msgs)-c.keep:]...)
	}
	r.last = m.Time
	// Under the lock, so that subscribers see messages in id order; publishing never blocks.
	c.feed.Publish(roomName, m)
	return m
}

// evictLocked forgets the least recently active room.
func (c *Chat) evictLocked() {
	var oldest string
	var t time.Time
	for name, r := range c.rooms {
		if oldest == "" || r.last.Before(t) {
			oldest, t = name, r.last
		}
	}
	delete(c.rooms, oldest)
}

func (c *Chat) history(roomName string, limit int) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[roomName]
	if r == nil {
		return []Message{}
	}
	msgs := r.msgs[max(0, len(r.msgs)-min(limit, c.keep)):]
	return append([]Message(nil), msgs...)
}

// validName checks a room or user name: 1 to 32 ASCII letters, digits, '-', '_' or '.'.
func validName(what, s string) error {
	if s == "" || len(s) > MaxNameLen {
		return invalidParams(fmt.Sprintf("invalid %s: want 1 to %d characters, got %d", what, MaxNameLen, len(s)))
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.') {
			return invalidParams(fmt.Sprintf("invalid %s %q: only letters A-Z a-z, digits, '-', '_' and '.' are allowed", what, s))
		}
	}
	return nil
}

// validText checks a message text: 1 to 2000 bytes of valid UTF-8 without control characters
// other than newline and tab.
func validText(s string) error {
	if s == "" || len(s) > MaxTextBytes {
		return invalidParams(fmt.Sprintf("invalid text: want 1 to %d bytes, got %d", MaxTextBytes, len(s)))
	}
	if !utf8.ValidString(s) {
		return invalidParams("invalid text: not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return invalidParams(fmt.Sprintf("invalid text: control character %U", r))
		}
	}
	return nil
}
