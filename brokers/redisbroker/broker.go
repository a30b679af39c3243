package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Options configures a [Broker]. Zero fields take the defaults documented on each.
type Options struct {
	// URL is the Redis server's address: redis://[:PASSWORD@]HOST:PORT[/DB].
	URL string
	// Prefix starts every key and channel of the broker. Default "polyrpc:".
	Prefix string
	// Retention: Events is each topic stream's MAXLEN; Topics bounds the topics kept (the
	// least recently published is forgotten past it, with its history); Age forgets a topic
	// not published to for that long, and History leaves out events older than it. Zero
	// fields take the defaults of [subscriptions.Retention]; negative ones remove the bound.
	Retention subscriptions.Retention
	// Timeout bounds each request when the caller's context has no deadline. Default 2 s.
	Timeout time.Duration
	// ReconnectWait is the pause between attempts to reach the server. Default 250 ms.
	ReconnectWait time.Duration
	// Name is the connections' client name (the node's name).
	Name string
	// Logger receives the broker's connection events; nil: none.
	Logger *slog.Logger
}

// DefaultPrefix is the default of Options.Prefix.
const DefaultPrefix = "polyrpc:"

// Broker is a [subscriptions.Broker] on Redis streams and pub/sub. Create it with [New]; a
// Feed starts it, and [Broker.Close] ends it.
type Broker struct {
	opts Options
	ret  subscriptions.Retention
	rdb  *redis.Client
	h    subscriptions.Handler

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	kick   chan struct{} // wakes the listener (a new subscription while it is between connections)

	mu     sync.Mutex
	err    error
	ps     *redis.PubSub     // the listener's connection, nil while it has none
	topics map[string]*topic // subscribed topics
}

// topic is a subscribed topic. Guarded by Broker.mu, except what only the listener touches.
type topic struct {
	name string
	// Touched by the listener only (and set by Subscribe before the topic is announced to it).
	epoch string // of the last event delivered or of the start
	last  uint64 // the last offset delivered, or the start
}

// Errors of a Broker.
var (
	// ErrUnavailable is wrapped by the errors of calls made while the broker cannot reach its
	// server.
	ErrUnavailable = errors.New("redisbroker: Redis unavailable")
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("redisbroker: broker closed")
)

// New returns a broker for opts; it connects when started.
func New(opts Options) (*Broker, error) {
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.ReconnectWait <= 0 {
		opts.ReconnectWait = 250 * time.Millisecond
	}
	ret := opts.Retention
	if ret.Events == 0 {
		ret.Events = subscriptions.DefaultRetainedEvents
	}
	if ret.Topics == 0 {
		ret.Topics = subscriptions.DefaultRetainedTopics
	}
	ro.ClientName = opts.Name
	ro.Protocol = 2
	ro.DisableIdentity = true // CLIENT SETINFO is Redis 7.2's
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	ro.DialTimeout = opts.Timeout / 2
	ro.ReadTimeout = opts.Timeout
	ro.WriteTimeout = opts.Timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1 // a publish is not idempotent: never sent twice
	ctx, cancel := context.WithCancel(context.Background())
	return &Broker{
		opts:   opts,
		ret:    ret,
		rdb:    redis.NewClient(ro),
		ctx:    ctx,
		cancel: cancel,
		kick:   make(chan struct{}, 1),
		err:    fmt.Errorf("%w: not connected yet", ErrUnavailable),
		topics: make(map[string]*topic),
	}, nil
}

// Start implements [subscriptions.Broker]: it starts the listener, which connects (and
// reconnects) to the server.
func (b *Broker) Start(h subscriptions.Handler) error {
	if b.h != nil {
		return errors.New("redisbroker: started twice")
	}
	b.h = h
	h.Status(b.Err()) // not connected yet
	ready := make(chan struct{})
	b.wg.Go(func() { b.listen(ready) })
	select { // usually connected when Start returns; otherwise the listener keeps trying
	case <-ready:
	case <-time.After(b.opts.Timeout):
	}
	return nil
}

// Close stops the listener and closes the connections. It is idempotent.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.cancel()
		b.mu.Lock()
		ps := b.ps
		b.mu.Unlock()
		if ps != nil {
			ps.Close() // ends a receive in progress
		}
		b.wg.Wait()
		b.rdb.Close()
	})
	return nil
}

// Err returns nil while the broker can reach its server, and otherwise why not.
func (b *Broker) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *Broker) setErr(err error) {
	b.mu.Lock()
	changed := (b.err == nil) != (err == nil)
	b.err = err
	b.mu.Unlock()
	if !changed {
		return
	}
	if b.opts.Logger != nil {
		if err != nil {
			b.opts.Logger.Warn("broker unreachable", "broker", "redis", "err", err)
		} else {
			b.opts.Logger.Info("broker reachable", "broker", "redis", "url", b.rdb.Options().Addr)
		}
	}
	b.h.Status(err)
}

// available returns the error that fails a call made now, or nil.
func (b *Broker) available() error {
	if b.ctx.Err() != nil {
		return ErrClosed
	}
	if b.h == nil {
		return fmt.Errorf("%w: not started", ErrUnavailable)
	}
	return b.Err()
}

// failed wraps a request's error; a network failure wraps ErrUnavailable and wakes the
// listener, which tells whether the server is gone.
func (b *Broker) failed(topic string, err error) error {
	if errors.Is(err, context.Canceled) && b.ctx.Err() == nil {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		b.poke()
		return fmt.Errorf("redisbroker: topic %q: %w: %v", topic, ErrUnavailable, err)
	}
	return fmt.Errorf("redisbroker: topic %q: %w", topic, err)
}

func (b *Broker) poke() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// reqCtx bounds a request by the broker's Timeout unless ctx has a deadline.
func (b *Broker) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, b.opts.Timeout)
}

// Keys and channels of a topic.
func (b *Broker) metaKey(topic string) string   { return b.opts.Prefix + "m:" + topic }
func (b *Broker) streamKey(topic string) string { return b.opts.Prefix + "s:" + topic }
func (b *Broker) channel(topic string) string   { return b.opts.Prefix + "c:" + topic }
func (b *Broker) topicsKey() string             { return b.opts.Prefix + "topics" }

// newEpoch draws an epoch for a topic that has none yet.
func newEpoch() string {
	var r [8]byte
	rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
