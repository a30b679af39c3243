package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/polyrpc/polyrpc/brokers/natsbroker"
	"github.com/polyrpc/polyrpc/brokers/redisbroker"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// brokerConfig is the chat's broker and its retention (--broker, --chat.*).
type brokerConfig struct {
	url    string        // "memory", nats://HOST:PORT or redis://HOST:PORT
	retain int           // messages kept per room
	rooms  int           // rooms kept
	maxAge time.Duration // messages older than this are forgotten; 0: no limit
}

// validate checks the broker URL and the retention.
func (c *serveConfig) validateBroker() error {
	b := c.broker
	switch {
	case b.url == "memory":
	case strings.HasPrefix(b.url, "nats://"), strings.HasPrefix(b.url, "redis://"):
		u, err := url.Parse(b.url)
		if err != nil || u.Host == "" {
			return fmt.Errorf("invalid %s %q: want memory, nats://HOST:PORT or redis://HOST:PORT", c.name("broker"), b.url)
		}
	default:
		return fmt.Errorf("invalid %s %q: want memory, nats://HOST:PORT or redis://HOST:PORT", c.name("broker"), b.url)
	}
	if b.retain < 1 {
		return fmt.Errorf("invalid %s %d: want at least 1", c.name("chat.retain"), b.retain)
	}
	if b.rooms < 1 {
		return fmt.Errorf("invalid %s %d: want at least 1", c.name("chat.rooms"), b.rooms)
	}
	if b.maxAge < 0 {
		return fmt.Errorf("invalid %s %v: want 0 (no limit) or more", c.name("chat.maxage"), b.maxAge)
	}
	return nil
}

// closer is a broker that the binary closes when it stops.
type closer interface{ Close() error }

// newBroker returns the broker the configuration names, not started yet (the chat's Feed
// starts it).
func newBroker(c *serveConfig, log *slog.Logger) (subscriptions.Broker, error) {
	ret := subscriptions.Retention{Events: c.broker.retain, Topics: c.broker.rooms, Age: c.broker.maxAge}
	switch {
	case strings.HasPrefix(c.broker.url, "nats://"):
		return natsbroker.New(natsbroker.Options{URL: c.broker.url, Retention: ret, Name: c.nodeName, Logger: log})
	case strings.HasPrefix(c.broker.url, "redis://"):
		return redisbroker.New(redisbroker.Options{URL: c.broker.url, Retention: ret, Name: c.nodeName, Logger: log})
	}
	return subscriptions.NewMemoryBroker(ret), nil
}
