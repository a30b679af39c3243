// Package natsbroker is a [subscriptions.Broker] on NATS JetStream, for polyrpc nodes that
// share their Feeds (and the chat service's rooms) through a NATS server. It is a module of
// its own, so that the library's users do not inherit the NATS client.
//
// It needs nats-server 2.9 or newer with JetStream enabled and uses nothing newer than 2.9.
// All topics live in one stream (Options.Stream, default POLYRPC) under the subjects
// Options.Subject.TOKEN, one subject per topic:
//
//   - An event's offset is its stream sequence: increasing within a topic, not contiguous.
//     Its Prev travels in a header, and a publish is conditional on the subject's last
//     sequence being that Prev (JetStream's expected last subject sequence), retried after a
//     conflict: publishes to one topic from many nodes form one chain.
//   - The epoch is the stream's creation time: it changes when the stream is deleted and
//     created again, as a server with memory storage does when it restarts. A server that
//     keeps its files keeps its epoch, and subscribers resume across its restart.
//   - Each node consumes the topics it has subscribers for with one ephemeral pull consumer
//     per topic, restarted after its last delivered sequence when the connection or the
//     consumer fails.
//   - Retention: Retention.Events is the stream's MaxMsgsPerSubject, Retention.Age its
//     MaxAge, and Events×Topics its MaxMsgs. Unlike the memory broker's, the topic bound is
//     on events, not topics: past it the stream's oldest events go first, whatever their
//     topic.
//
// While the server cannot be reached, calls fail at once with an error wrapping
// [ErrUnavailable], Err says why, and the Feed is told (subscriptions.Handler.Status); the
// connection is retried every Options.ReconnectWait.
package natsbroker
