// Package subscriptions is polyrpc's server push: subscriptions, the bounded per-connection
// queue that carries their notifications, and a fan-out [Feed].
//
// It is the leaf of polyrpc's dependency graph (standard library only): package rpc imports it
// and wires it into every connection that can carry server push (WebSocket, IPC, in-process).
// Service authors use three things from it:
//
//   - a method that takes a context and returns (*Subscription, error) is a subscription. The
//     method calls [NotifierFromContext] and [Notifier.CreateSubscription], starts whatever
//     produces the values and returns the subscription; its id is the call's answer.
//   - [Subscription.Notify] (or [Notifier.Notify]) sends one value to one subscription, and
//     [Feed.Publish] sends one value to every subscription of a topic, encoding it once;
//     [Feed.SubscribeFrom] resumes a subscription from a position in the topic's history.
//   - [Subscription.Err] reports the end: unsubscribed, connection closed, server stopped, or
//     queue overflow. A producer selects on it and stops.
//
// # Wire shape
//
// It is go-ethereum's, so that ethers.js, web3.js and go-ethereum's client work unchanged:
//
//	--> {"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["ticks",3,1]}
//	<-- {"jsonrpc":"2.0","id":1,"result":"0x9f0c…"}
//	<-- {"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"0x9f0c…","result":1}}
//	--> {"jsonrpc":"2.0","id":2,"method":"nftest_unsubscribe","params":["0x9f0c…"]}
//	<-- {"jsonrpc":"2.0","id":2,"result":true}
//
// The subscribe answer is always written before the first notification of its subscription,
// and the notifications of one subscription arrive in the order they were sent. Ids are 16
// random bytes from crypto/rand in hex: unguessable, so one connection cannot guess another's.
//
// # Backpressure
//
// Notify never blocks and never waits for the network. Each connection has one queue bounded by
// count and by bytes ([Limits]; defaults 10 000 notifications and 8 MiB), and one goroutine,
// started only while there is something to write, drains it in bursts: many notifications per
// write system call, each burst a turn after which a connection with more to write lets the
// goroutines waiting to run go first (calls stay quick while every connection pushes flat
// out). The queues of many connections together are bounded by a shared [Budget] (package rpc
// gives each server one: 256 MiB by default). What happens when a client stops reading and the
// queue is full, or the budget spent, is the subscription's [Policy]:
//
//   - [CloseConn] (the default, go-ethereum's behaviour): the connection is closed, with the
//     reason logged and, on WebSocket, sent in a close frame (1008) unless a write to the
//     stalled client is still under way; every subscription on it ends with [ErrOverflow].
//     Not before the client has been told the subscription's id, though: while the subscribe
//     call's answer is still being written, a full queue drops the notification as
//     [DropNewest] does (the client gets a lag notice), since the client had no chance to read.
//
//   - [DropOldest] drops the subscription's oldest queued notification, [DropNewest] the one
//     being sent. Drops are never silent: before its next notification (or as soon as the
//     client reads again) the subscription gets a lag notice telling how many were lost:
//
//     {"jsonrpc":"2.0","method":"nftest_subscriptionLag","params":{"subscription":"0x9f0c…","dropped":12}}
//
//     Clients that do not know the notice ignore it (go-ethereum's client and ethers.js only
//     look at NS_subscription); polyrpc's client reports it on ClientSubscription.Lagged.
//
// Notifications sent before the subscribe answer is written wait in the same bounded queue, so
// a client that stops reading while it keeps subscribing cannot grow the server's memory
// either, and when a connection ends its queue is freed at once and its producers learn it from
// Err. A producer that streams a finite sequence and would rather wait than lose anything uses
// [Subscription.NotifyWait], which waits for room in the queue (only its own goroutine waits),
// keeping no more than two bursts queued: enough to keep the connection busy.
//
// # Feeds, brokers and positions
//
// A [Feed] publishes through a [Broker], which keeps each topic's recent history and delivers
// its events, in one order, to the Feed of every node that has subscribers of the topic: the
// default [MemoryBroker] serves one process; adapters on NATS JetStream or Redis (modules of
// their own, checked by the conformance suite in package brokertest) serve many nodes. Every
// event has a position: an offset, increasing within its topic, in an epoch that names one
// continuous history. A Feed's notifications carry the offset next to the result, and a
// position notice follows the subscribe answer and marks every break in continuity:
//
//	<-- {"jsonrpc":"2.0","id":1,"result":"0x9f0c…"}
//	<-- {"jsonrpc":"2.0","method":"chat_subscriptionPosition","params":{"subscription":"0x9f0c…","epoch":"5c0f…","offset":41,"recovered":true}}
//	<-- {"jsonrpc":"2.0","method":"chat_subscription","params":{"subscription":"0x9f0c…","result":{…},"offset":42}}
//
// The notice says that what follows is every event after its offset; recovered is false when
// events the subscriber had asked for, or was receiving, are lost: a position that the history
// no longer reaches back to, another epoch (the broker lost its history), or a gap in delivery
// (each event names the offset it follows, Event.Prev). Clients that do not know the members
// ignore them. A subscription method resumes by taking a trailing *Position argument and
// passing it to [Feed.SubscribeFrom]; a client sends its last position there:
//
//	--> {"jsonrpc":"2.0","id":2,"method":"chat_subscribe","params":["messages","lobby",{"epoch":"5c0f…","offset":42}]}
//
// and receives every event after offset 42 in order, then the live ones, without a gap or a
// duplicate (recovered true); or, when that is no longer possible, recovered false and the live
// events only, so that it knows to reload. A lag notice of a Feed subscription carries the
// offset of the first notification it dropped, from which the client can resume too.
package subscriptions
