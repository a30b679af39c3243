package console

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/polyrpc/polyrpc/rpc"
)

// subscribe starts a subscription on client.
// TEMPORARY: rpc.Client.Subscribe is not there yet.
func subscribe(ctx context.Context, client *rpc.Client, namespace string, ch chan json.RawMessage, args ...any) (subscription, error) {
	return nil, errors.New("this client cannot subscribe yet")
}
