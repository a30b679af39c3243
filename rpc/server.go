package rpc

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Server holds the method registry and serves connections from any number of transports. Create
// one with [NewServer]; its methods are safe for concurrent use.
type Server struct {
	cfg config
	reg registry

	mu        sync.Mutex
	sessions  map[*Session]struct{}
	draining  atomic.Bool // Shutdown began: no new calls
	stopped   bool        // Stop began: no new connections
	inflight  callCounter
	budget    Budget                   // request bytes in flight, see RequestBudget
	pushBytes *subscriptions.Budget    // notifications queued, see NotificationBudget
	workers   workers                  // goroutines that run messages
	deadlines deadlines                // the timer for calls' deadlines
	other     atomic.Pointer[callback] // answers the methods not registered (Client.ServeOther); or nil
	stopOnce  sync.Once
	stopDone  chan struct{}
}

// NewServer returns a server with only the built-in rpc namespace (rpc_modules). A nil opts
// gives the defaults.
func NewServer(opts *Options) *Server {
	s := &Server{
		cfg:      opts.config(),
		sessions: make(map[*Session]struct{}),
		stopDone: make(chan struct{}),
	}
	s.budget.limit = int64(s.cfg.maxInFlight)
	if s.cfg.maxPushBytes != unlimited {
		s.pushBytes = subscriptions.NewBudget(s.cfg.maxPushBytes)
	}
	s.reg.init()
	cbs, err := newCallbacks(rpcNamespace, &rpcService{s}, &registration{})
	if err != nil {
		panic(err) // the built-in service is known to be well formed
	}
	s.reg.add(cbs)
	s.reg.add(discoverCallbacks(s)) // rpc.discover, see openrpc_service.go
	return s
}

const rpcNamespace = "rpc"

// NotificationBudget returns the server's budget for queued notification bytes
// (Options.MaxQueuedNotificationBytes), whose Stats tell how much it holds and what it has
// dropped, closed and made wait; nil when the server has none (a negative option).
func (s *Server) NotificationBudget() *subscriptions.Budget { return s.pushBytes }

// Register exposes every exported method of receiver whose shape fits as namespace_method, the
// Go method name with its first letter lowercased. Registering under an existing namespace adds
// to it; a method of the same name replaces the old one. See the package documentation for the
// shapes that fit.
func (s *Server) Register(namespace string, receiver any, opts ...RegisterOption) error {
	if err := validNamespace(namespace); err != nil {
		return err
	}
	if namespace == rpcNamespace {
		return errors.New("rpc: the rpc namespace is reserved for built-in methods")
	}
	reg := &registration{}
	for _, o := range opts {
		o(reg)
	}
	cbs, err := newCallbacks(namespace, receiver, reg)
	if err != nil {
		return err
	}
	s.reg.add(cbs)
	return nil
}

// addSession tracks a new connection; it fails once the server is stopping.
func (s *Server) addSession(ss *Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.draining.Load() {
		return ErrServerStopped
	}
	s.sessions[ss] = struct{}{}
	return nil
}

func (s *Server) removeSession(ss *Session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

// Shutdown stops the server gracefully: it refuses new connections and new calls (-32006),
// waits until the calls in flight have answered or ctx is done, and then does what Stop does.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	var err error
	select {
	case <-s.inflight.zero():
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.Stop()
	return err
}

// Stop stops the server: it refuses new connections, cancels the context of every call, waits
// for calls in flight to return (at most Options.StopTimeout), and closes every connection.
// It is safe to call more than once and from several goroutines; every call returns when the
// server has stopped.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		sessions := make([]*Session, 0, len(s.sessions))
		for ss := range s.sessions {
			sessions = append(sessions, ss)
		}
		s.mu.Unlock()
		for _, ss := range sessions {
			ss.cancel()
		}
		t := time.NewTimer(s.cfg.stopTimeout)
		select {
		case <-s.inflight.zero():
		case <-t.C:
			s.cfg.log.Warn("rpc: calls still running after stop timeout", "timeout", s.cfg.stopTimeout)
		}
		t.Stop()
		// Close concurrently: a peer that does not read must not hold up the others.
		var wg sync.WaitGroup
		for _, ss := range sessions {
			wg.Go(func() { ss.Close() })
		}
		wg.Wait()
		s.workers.close()
		s.deadlines.stop()
		close(s.stopDone)
	})
	<-s.stopDone
}

// rpcService is the built-in rpc namespace.
type rpcService struct{ s *Server }

// Modules lists the namespaces callable on the caller's connection, each with version "1.0",
// as go-ethereum's rpc_modules answers: those exposed on it with at least one method (or
// subscription) that the caller's principal may call.
func (r *rpcService) Modules(ctx context.Context) map[string]string {
	ss := sessionFromContext(ctx)
	mods := make(map[string]string)
	for _, cb := range r.s.reg.all() {
		if ss == nil || ss.allowed(cb.namespace) && ss.permits(cb) {
			mods[cb.namespace] = "1.0"
		}
	}
	return mods
}

// Methods returns the wire names of the methods callable on a connection with the given
// namespace allowlist (nil: all), sorted.
func (s *Server) Methods(namespaces []string) []string {
	allow := allowSet(namespaces)
	var names []string
	if m := s.reg.methods.Load(); m != nil {
		for name, cb := range *m {
			if allow == nil || allow[cb.namespace] {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}

func allowSet(namespaces []string) map[string]bool {
	if namespaces == nil {
		return nil
	}
	m := map[string]bool{rpcNamespace: true}
	for _, ns := range namespaces {
		m[ns] = true
	}
	return m
}

func (s *Server) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}
