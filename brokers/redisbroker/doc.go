// Package redisbroker is a [subscriptions.Broker] on Redis (7.0 or newer; one instance, not a
// cluster), for polyrpc nodes that share their Feeds (and the chat service's rooms) through
// Redis. It is a module of its own, so that the library's users do not inherit the Redis
// client.
//
// Each topic is a stream holding its latest events, a hash with its epoch and last offset,
// and a pub/sub channel. One Lua script appends an event atomically: it draws the next offset
// (contiguous within the topic: an event's Prev is its offset less one), adds the stream
// entry (its id is the offset), and publishes the event on the channel. A node receives the
// channels of the topics it has subscribers for on one connection; pub/sub may lose messages,
// so a message that does not follow the last one delivered, and every (re)subscription, is
// preceded by the missing events read from the stream: delivery has neither duplicates nor
// gaps that the stream can still fill.
//
// The epoch is drawn at random when a topic has no hash: a Redis restarted without its data,
// or a topic forgotten under the retention, starts a new epoch, and resuming subscribers are
// told that they cannot recover.
//
// Retention: Retention.Events is each stream's MAXLEN (exact); Retention.Topics bounds the
// topics (the least recently published are forgotten, whether or not a node subscribes to
// them); Retention.Age expires a topic not published to for that long, and History leaves out
// events older than Age.
//
// While the server cannot be reached, calls fail with an error wrapping [ErrUnavailable]
// (at once once the listener has noticed), Err says why, and the Feed is told
// (subscriptions.Handler.Status); the listener reconnects every Options.ReconnectWait.
package redisbroker
