package rpc

import (
	"time"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// Hooks are functions the server calls when something happens to a connection or to its
// subscriptions, for observers (metrics, logs). Every field is optional; the server calls
// only those that are set, synchronously on its own goroutines, possibly several at once: a
// hook must be quick and must not block. More fields may be added later.
//
// An HTTP request is a connection of its own (its ConnInfo.Peer.Transport is "http"): it is
// opened when the request's body has been read and closed once it has been answered, so a
// count of open connections counts HTTP requests in flight under that transport.
type Hooks struct {
	// ConnOpened is called when a connection is attached to the server, before any of its
	// calls.
	ConnOpened func(c *ConnInfo)
	// ConnClosed is called once when the connection closes, after ConnOpened. reason is why the
	// server closed it (a middleware's Outcome.Close, ReasonAuthExpired, ReasonServerStopped, a
	// client that does not read its notifications, a failed read or write), or "" when the peer
	// or the transport ended it (an HTTP request answered, a client that closed its side).
	ConnClosed func(c *ConnInfo, reason string)
	// Refused is called for a message refused before it became a call, with one of the
	// Refused* reasons. c describes the connection; for a request refused before it had one (an
	// HTTP request refused before its body was read, an IPC connection refused by its
	// authenticator) c.ID is 0 and only c.Peer and c.Since are set.
	Refused func(c *ConnInfo, reason string)
	// SubscriptionStarted is called when a subscribe call creates its subscription, and
	// SubscriptionEnded once when that subscription ends, for whatever reason.
	SubscriptionStarted func(c *ConnInfo, m *MethodInfo)
	SubscriptionEnded   func(c *ConnInfo, m *MethodInfo)
	// NotificationsSent is called after notifications of subscription method m have been
	// written to the connection: n of them (position and lag notices not counted).
	NotificationsSent func(c *ConnInfo, m *MethodInfo, n int)
	// NotificationsDropped is called when a lag notice tells the client that n notifications
	// of m were dropped under the subscription's overflow policy (DropOldest, DropNewest).
	NotificationsDropped func(c *ConnInfo, m *MethodInfo, policy subscriptions.Policy, n int)
}

// Reasons given to [Hooks].Refused. Later layers (rate limits) add their own.
const (
	RefusedBatchTooLarge   = "batch too large"   // over Options.BatchItemLimit
	RefusedMessageTooLarge = "message too large" // over a message or body size limit
	RefusedBusy            = "busy"              // the request-bytes budget was spent
	RefusedInvalid         = "invalid"           // not JSON, or not a valid request object
	RefusedAuth            = "auth"              // the transport's authenticator refused it
)

// Reasons given to [Hooks].ConnClosed, besides a middleware's own.
const (
	ReasonServerStopped = "server stopped"
	ReasonAuthExpired   = "authentication expired" // the principal's expiry passed
)

// ReportRefusal tells the server's Refused hook that a transport refused a request from peer
// before handing it to the server (an HTTP body over its limit, a failed authentication),
// with one of the Refused* reasons. Transports call it; it does nothing without the hook.
func (s *Server) ReportRefusal(peer PeerInfo, reason string) {
	if f := s.cfg.hooks.Refused; f != nil {
		f(&ConnInfo{Peer: peer, Since: time.Now()}, reason)
	}
}

// refused reports a message of the session refused before it became a call.
func (ss *Session) refused(reason string) {
	if f := ss.srv.cfg.hooks.Refused; f != nil {
		f(&ss.info, reason)
	}
}

// observedSink is the session's subscription sink when hooks watch subscriptions: it is also
// the subscriptions.Observer that calls them. Its tags are the subscriptions' *MethodInfo.
type observedSink struct{ sessionSink }

var _ subscriptions.Observer = observedSink{}

// watchesSubs reports whether a hook wants to know about subscriptions.
func (h *Hooks) watchesSubs() bool {
	return h.SubscriptionStarted != nil || h.SubscriptionEnded != nil ||
		h.NotificationsSent != nil || h.NotificationsDropped != nil
}

func (k observedSink) Started(tag any) {
	if f := k.ss.srv.cfg.hooks.SubscriptionStarted; f != nil {
		f(&k.ss.info, tagInfo(k.ss, tag))
	}
}

func (k observedSink) Ended(tag any) {
	if f := k.ss.srv.cfg.hooks.SubscriptionEnded; f != nil {
		f(&k.ss.info, tagInfo(k.ss, tag))
	}
}

func (k observedSink) Sent(tag any, n int) {
	if f := k.ss.srv.cfg.hooks.NotificationsSent; f != nil {
		f(&k.ss.info, tagInfo(k.ss, tag), n)
	}
}

func (k observedSink) Dropped(tag any, p subscriptions.Policy, n int) {
	if f := k.ss.srv.cfg.hooks.NotificationsDropped; f != nil {
		f(&k.ss.info, tagInfo(k.ss, tag), p, n)
	}
}

// tagInfo returns the method a subscription's tag names.
func tagInfo(ss *Session, tag any) *MethodInfo {
	if m, ok := tag.(*MethodInfo); ok {
		return m
	}
	return ss.srv.reg.other
}
