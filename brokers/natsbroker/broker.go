package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Options configures a [Broker]. Zero fields take the defaults documented on each.
type Options struct {
	// URL is the NATS server's address, nats://HOST:PORT (several may be given, comma
	// separated).
	URL string
	// Stream is the JetStream stream that holds every topic. Default "POLYRPC".
	Stream string
	// Subject is the subject prefix of the topics: topic T is Subject.TOKEN(T). Default
	// "polyrpc.t".
	Subject string
	// Retention: Events is the stream's MaxMsgsPerSubject, Age its MaxAge, and Events×Topics
	// its MaxMsgs (the oldest events of any topic go first past it). Zero fields take the
	// defaults of [subscriptions.Retention]; negative ones remove the bound.
	Retention subscriptions.Retention
	// MemoryStorage keeps the stream in the server's memory instead of files: a server
	// restart loses it, and its epoch changes.
	MemoryStorage bool
	// Replicas of the stream in a clustered JetStream. Default 1.
	Replicas int
	// Name is the connection's name, as the server's monitoring shows it (the node's name).
	Name string
	// Timeout bounds each request to the server when the caller's context has no deadline.
	// Default 2 s.
	Timeout time.Duration
	// ReconnectWait is the pause between reconnection attempts. Default 250 ms.
	ReconnectWait time.Duration
	// Logger receives the broker's connection events; nil: none.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultStream  = "POLYRPC"
	DefaultSubject = "polyrpc.t"
)

// Broker is a [subscriptions.Broker] on a NATS JetStream stream. Create it with [New]; a Feed
// starts it, and [Broker.Close] ends it.
type Broker struct {
	opts Options
	ret  subscriptions.Retention

	h  subscriptions.Handler
	nc *nats.Conn
	js jetstream.JetStream

	kick   chan struct{}   // wakes the supervisor
	done   chan struct{}   // closed by Close
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	rmu sync.Mutex // serialises refresh

	mu          sync.Mutex
	epoch       string // the stream's, "" until first seen
	err         error  // why the broker cannot serve now; nil while it can
	reconnected bool   // every consumer must be restarted
	topics      map[string]*topic
}

// topic is what a Broker knows of one topic.
type topic struct {
	name, subject string

	pub   sync.Mutex // serialises this node's publishes to the topic
	last  uint64     // guarded by pub: the subject's last sequence, when known
	known bool
	hint  atomic.Uint64 // the last sequence delivered: a later last than a stale one

	// Guarded by dmu, held while an event is delivered.
	dmu        sync.Mutex
	subscribed bool
	broken     bool   // the consumer failed: the supervisor restarts it
	gen        int    // the consumer generation whose deliveries are taken
	cursor     uint64 // the last stream sequence delivered, or where delivery starts
	cseq       uint64 // the last consumer sequence delivered
	epoch      string // the epoch of cursor
	cc         jetstream.ConsumeContext
	consumer   string
}

// Errors of a Broker.
var (
	// ErrUnavailable is wrapped by the errors of calls made while the broker cannot reach its
	// server, or its stream.
	ErrUnavailable = errors.New("natsbroker: NATS unavailable")
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("natsbroker: broker closed")
)

// hdrPrev is the header that carries an event's Prev, the offset it follows.
const hdrPrev = "Polyrpc-Prev"

// New returns a broker for opts; it connects when started.
func New(opts Options) (*Broker, error) {
	if opts.URL == "" {
		return nil, errors.New("natsbroker: no URL")
	}
	if opts.Stream == "" {
		opts.Stream = DefaultStream
	}
	if opts.Subject == "" {
		opts.Subject = DefaultSubject
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.ReconnectWait <= 0 {
		opts.ReconnectWait = 250 * time.Millisecond
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	ret := opts.Retention
	if ret.Events == 0 {
		ret.Events = subscriptions.DefaultRetainedEvents
	}
	if ret.Topics == 0 {
		ret.Topics = subscriptions.DefaultRetainedTopics
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Broker{
		ctx:    ctx,
		cancel: cancel,
		opts:   opts,
		ret:    ret,
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		err:    fmt.Errorf("%w: not connected yet", ErrUnavailable),
		topics: make(map[string]*topic),
	}, nil
}

// Start implements [subscriptions.Broker]: it connects (retrying in the background while the
// server cannot be reached) and creates or updates the stream.
func (b *Broker) Start(h subscriptions.Handler) error {
	if b.h != nil {
		return errors.New("natsbroker: started twice")
	}
	b.h = h
	h.Status(b.Err()) // not connected yet
	nc, err := nats.Connect(b.opts.URL,
		nats.Name(b.opts.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(b.opts.ReconnectWait),
		nats.ReconnectJitter(50*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1), // publishes fail while disconnected rather than wait
		nats.Timeout(b.opts.Timeout),
		nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.NoCallbacksAfterClientClose(),
		nats.ConnectHandler(func(*nats.Conn) { b.connected() }),
		nats.ReconnectHandler(func(*nats.Conn) { b.connected() }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				err = errors.New("connection closed")
			}
			b.setErr(fmt.Errorf("%w: disconnected from %s: %v", ErrUnavailable, b.opts.URL, err))
		}),
	)
	if err != nil {
		return fmt.Errorf("natsbroker: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("natsbroker: %w", err)
	}
	b.nc, b.js = nc, js
	if nc.IsConnected() {
		b.refresh() // usually ready when Start returns; otherwise the supervisor retries
	}
	b.wg.Go(b.supervise)
	b.poke()
	return nil
}

// Close stops delivering, removes the broker's consumers and closes the connection. It is
// idempotent.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		close(b.done)
		b.mu.Unlock()
		b.cancel()
		b.wg.Wait() // the supervisor and the background deletions
		if b.nc == nil {
			return
		}
		b.mu.Lock()
		var stop []*topic
		for _, t := range b.topics {
			stop = append(stop, t)
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
		defer cancel()
		for _, t := range stop {
			t.dmu.Lock()
			cc, name := t.cc, t.consumer
			t.cc, t.consumer, t.subscribed = nil, "", false
			t.gen++
			t.dmu.Unlock()
			if cc != nil {
				cc.Stop()
			}
			if name != "" && b.nc.IsConnected() {
				b.js.DeleteConsumer(ctx, b.opts.Stream, name)
			}
		}
		b.nc.Close()
	})
	return nil
}

// Err returns nil while the broker can publish and deliver, and otherwise why not.
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
	if changed {
		if b.opts.Logger != nil {
			if err != nil {
				b.opts.Logger.Warn("broker unreachable", "broker", "nats", "err", err)
			} else {
				b.opts.Logger.Info("broker reachable", "broker", "nats", "url", b.opts.URL)
			}
		}
		b.h.Status(err)
	}
}

// connected runs on (re)connection: every consumer is restarted once the stream is checked.
func (b *Broker) connected() {
	b.mu.Lock()
	b.reconnected = true
	b.mu.Unlock()
	b.poke()
}

func (b *Broker) poke() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// available returns the error that fails a call made now, or nil: the broker must be
// started, connected, and have its stream.
func (b *Broker) available() error {
	select {
	case <-b.done:
		return ErrClosed
	default:
	}
	if b.nc == nil {
		return fmt.Errorf("%w: not started", ErrUnavailable)
	}
	if !b.nc.IsConnected() {
		return fmt.Errorf("%w: not connected to %s", ErrUnavailable, b.opts.URL)
	}
	return b.Err()
}

// reqCtx bounds a request by the broker's Timeout unless ctx has a deadline.
func (b *Broker) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, b.opts.Timeout)
}

// topic returns the broker's state of a topic, creating it.
func (b *Broker) topic(name string) *topic {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[name]
	if t == nil {
		if len(b.topics) >= maxCachedTopics {
			b.forgetIdleLocked()
		}
		t = &topic{name: name, subject: b.opts.Subject + "." + token(name)}
		b.topics[name] = t
	}
	return t
}

// maxCachedTopics bounds the topics a broker remembers without a subscription.
const maxCachedTopics = 10000

// forgetIdleLocked drops the topics without a subscription (b.mu held).
func (b *Broker) forgetIdleLocked() {
	for name, t := range b.topics {
		t.dmu.Lock()
		idle := !t.subscribed
		t.dmu.Unlock()
		if idle {
			delete(b.topics, name)
		}
	}
}

// streamConfig is the stream the broker creates or updates.
func (b *Broker) streamConfig() jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:        b.opts.Stream,
		Subjects:    []string{b.opts.Subject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Storage:     jetstream.FileStorage,
		Replicas:    b.opts.Replicas,
		AllowDirect: true,
	}
	if b.opts.MemoryStorage {
		cfg.Storage = jetstream.MemoryStorage
	}
	cfg.MaxMsgsPerSubject = -1
	if b.ret.Events > 0 {
		cfg.MaxMsgsPerSubject = int64(b.ret.Events)
		if b.ret.Topics > 0 {
			cfg.MaxMsgs = int64(b.ret.Events) * int64(b.ret.Topics)
		}
	}
	if b.ret.Age > 0 {
		cfg.MaxAge = b.ret.Age
	}
	return cfg
}

// epochOf names a stream's history: its creation time. A deleted and recreated stream has
// another.
func epochOf(info *jetstream.StreamInfo) string {
	return strconv.FormatInt(info.Created.UnixNano(), 36)
}

// floorOf is the starting offset of a topic without stored events: at or after every offset
// such a topic had before its events were forgotten.
func floorOf(info *jetstream.StreamInfo) uint64 {
	if info.State.Msgs == 0 || info.State.FirstSeq == 0 {
		return info.State.LastSeq
	}
	return info.State.FirstSeq - 1
}

// noteEpoch records the stream's epoch as last seen; a change restarts every consumer from
// the new stream's start.
func (b *Broker) noteEpoch(epoch string) {
	b.mu.Lock()
	changed := b.epoch != "" && b.epoch != epoch
	b.epoch = epoch
	if changed {
		b.reconnected = true
	}
	b.mu.Unlock()
	if changed {
		if b.opts.Logger != nil {
			b.opts.Logger.Warn("broker history lost: new epoch", "broker", "nats", "stream", b.opts.Stream, "epoch", epoch)
		}
		b.poke()
	}
}

func (b *Broker) currentEpoch() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch
}
