package services

import (
	"context"
	"errors"
)

// TEMPORARY until package subscriptions lands: the chat's live feed. It is replaced by
// subscriptions.Feed; until then chat_subscribe answers that notifications are unsupported.

type subscription struct{}

type feed struct{}

func (*feed) publish(room string, m Message) {}

func (*feed) subscribe(ctx context.Context, room string) (*subscription, error) {
	return nil, errors.New("notifications not supported")
}
