package services

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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
	DefaultMaxRooms   = 1000 // rooms without subscribers kept; the least recently active goes first
)

// Message is one chat message.
type Message struct {
	ID   uint64    `json:"id"` // its offset in the broker: increasing in its room, the same on every node
	Room string    `json:"room"`
	Name string    `json:"name"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}

// published is what the broker stores of a message: the message without its id, which the
// broker assigns. Subscribers receive it with the id put back in front ([stampID]), exactly
// as a Message encodes.
type published struct {
	Room string    `json:"room"`
	Name string    `json:"name"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}

// stampID puts the message's id, its offset, in front of a published message's JSON.
func stampID(data []byte, offset uint64) []byte {
	if len(data) < 2 || data[0] != '{' {
		return data
	}
	out := make([]byte, 0, len(data)+24)
	out = append(out, `{"id":`...)
	out = strconv.AppendUint(out, offset, 10)
	if data[1] != '}' {
		out = append(out, ',')
	}
	return append(out, data[1:]...)
}

// Chat is a set of chat rooms: the topics of a broker, which keeps their latest messages and
// delivers them to the subscribers of every node. Register [Chat.API] as namespace chat:
// chat_send, chat_history, chat_rooms and the subscription chat_subscribe("messages", room).
type Chat struct {
	now  func() time.Time
	feed *subscriptions.Feed
}

// NewChat returns a chat on a memory broker that keeps up to keep messages per room and up to
// maxRooms rooms without subscribers (zero or less: the defaults).
func NewChat(keep, maxRooms int) *Chat {
	if keep <= 0 {
		keep = DefaultRoomBuffer
	}
	if maxRooms <= 0 {
		maxRooms = DefaultMaxRooms
	}
	return NewChatOn(subscriptions.NewMemoryBroker(subscriptions.Retention{Events: keep, Topics: maxRooms}))
}

// NewChatOn returns a chat whose rooms are topics of b, which keeps what its retention says.
// chat_rooms needs b to be a [subscriptions.TopicLister].
func NewChatOn(b subscriptions.Broker) *Chat {
	return &Chat{now: time.Now, feed: &subscriptions.Feed{Broker: b, Stamp: stampID}}
}

// Err returns nil while the chat's broker is reachable, and otherwise why not.
func (c *Chat) Err() error { return c.feed.Err() }

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
//	-32000 the message could not be stored (the broker is unreachable)
func (api chatAPI) Send(ctx context.Context, room, name, text string) (Message, error) {
	if err := validName("room", room); err != nil {
		return Message{}, err
	}
	if err := validName("name", name); err != nil {
		return Message{}, err
	}
	if err := validText(text); err != nil {
		return Message{}, err
	}
	p := published{Room: room, Name: name, Text: text, Time: api.c.now().UTC()}
	pos, err := api.c.feed.Send(ctx, room, p)
	if err != nil {
		return Message{}, fmt.Errorf("chat: message not sent: %w", err)
	}
	return Message{ID: pos.Offset, Room: p.Room, Name: p.Name, Text: p.Text, Time: p.Time}, nil
}

// History returns the room's latest messages, oldest first.
//
// limit is 1 to 500 (absent: 50). A room nobody has written to has no messages.
//
// Errors:
//
//	-32602 an invalid room or limit
//	-32000 the broker is unreachable
func (api chatAPI) History(ctx context.Context, room string, limit *int) ([]Message, error) {
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
	evs, _, err := api.c.feed.History(ctx, room, nil, n)
	if err != nil {
		return nil, fmt.Errorf("chat: history unavailable: %w", err)
	}
	msgs := make([]Message, 0, len(evs))
	for _, ev := range evs {
		var m Message
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			continue // not a message of this service
		}
		m.ID = ev.Offset
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// Rooms lists the rooms that have messages, by name.
//
// Errors:
//
//	-32000 the broker is unreachable or cannot list its rooms
func (api chatAPI) Rooms(ctx context.Context) ([]RoomInfo, error) {
	topics, err := api.c.feed.Topics(ctx)
	if err != nil {
		return nil, fmt.Errorf("chat: rooms unavailable: %w", err)
	}
	out := make([]RoomInfo, 0, len(topics))
	for _, t := range topics {
		out = append(out, RoomInfo{Room: t.Topic, Messages: t.Events, Last: t.Last.UTC()})
	}
	return out, nil
}

// Messages streams every message sent to room from now on, or, with since (the position of
// the last message received: its epoch and offset), every message after it and then the new
// ones.
//
// Each notification carries the message's offset (its id) next to it, and a notice
// chat_subscriptionPosition follows the answer: recovered false there means that messages
// after since are lost (load chat_history instead). A subscriber that does not keep up loses
// its oldest queued messages (with a lag notice) rather than its connection.
//
// Notifies: Message
//
// Errors:
//
//	-32602 an invalid room
//	-32000 the broker is unreachable
func (api chatAPI) Messages(ctx context.Context, room string, since *subscriptions.Position) (*subscriptions.Subscription, error) {
	if err := validName("room", room); err != nil {
		return nil, err
	}
	n, ok := subscriptions.NotifierFromContext(ctx)
	if !ok {
		return nil, subscriptions.ErrNotificationsUnsupported
	}
	sub := n.CreateSubscription(subscriptions.WithPolicy(subscriptions.DropOldest))
	if err := api.c.feed.SubscribeFrom(ctx, room, sub, since); err != nil {
		return nil, fmt.Errorf("chat: cannot subscribe: %w", err)
	}
	return sub, nil
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
