package subscriptions

import "errors"

// Reasons a subscription ends, as [Subscription.Err] reports them.
var (
	// ErrUnsubscribed: the client unsubscribed (or the subscribe call's answer never reached it).
	ErrUnsubscribed = errors.New("subscriptions: unsubscribed")
	// ErrConnClosed: the connection closed.
	ErrConnClosed = errors.New("subscriptions: connection closed")
	// ErrServerStopped: the server stopped.
	ErrServerStopped = errors.New("subscriptions: server stopped")
	// ErrOverflow: the client did not read its notifications and the queue overflowed under the
	// CloseConn policy; the connection has been closed.
	ErrOverflow = errors.New("subscriptions: notification queue overflow: the client is not reading")
)

// Errors returned to callers.
var (
	// ErrNotificationsUnsupported is what a subscription method should return when
	// [NotifierFromContext] finds no notifier: the connection cannot carry server push (HTTP).
	ErrNotificationsUnsupported = errors.New("notifications not supported")
	// ErrTooManySubscriptions refuses a subscription beyond [Limits].MaxSubscriptions.
	ErrTooManySubscriptions = errors.New("too many subscriptions on this connection")
	// ErrSubscriptionNotFound answers an unsubscribe with an id the connection does not have.
	ErrSubscriptionNotFound = errors.New("subscription not found")
	// ErrLateSubscription ends a subscription created twice in one call, or after the call
	// returned: only one, returned by the call, can be announced to the client.
	ErrLateSubscription = errors.New("subscriptions: CreateSubscription must be called once, before the subscribe method returns")
)
