// Package promrpc exports the calls, connections, refusals and subscriptions of an rpc.Server
// as Prometheus metrics. It is a module of its own, so that programs which import package rpc
// do not inherit prometheus/client_golang; a program opts in by importing it.
//
// The metrics follow go-grpc-middleware's conventions: the method and the transport are
// labels, never part of a name; every name of a method the server does not know (or does not
// offer on the connection) is the one value "_OTHER"; durations are in seconds; counters end
// in _total.
//
//	polyrpc_server_started_total{transport,method}          calls that started
//	polyrpc_server_handled_total{transport,method,code}     calls that finished; code is "ok" or the JSON-RPC error code
//	polyrpc_server_handling_seconds{transport,method}       histogram of the time from start to answer
//	polyrpc_server_batch_items{transport}                   histogram of the number of items per batch
//	polyrpc_server_rejected_total{transport,reason}         messages refused before they became calls (batch_too_large, message_too_large, busy, invalid, auth, rate, …)
//	polyrpc_connections{transport}                          open connections (an HTTP request is one while it runs)
//	polyrpc_subscriptions{method}                           live subscriptions
//	polyrpc_notifications_sent_total{method}                notifications written to clients
//	polyrpc_notifications_dropped_total{method,policy}      notifications dropped under an overflow policy (what the lag notices report)
//	polyrpc_request_bytes_in_use, polyrpc_request_bytes_limit               the request-bytes budget (Options.MaxRequestBytesInFlight)
//	polyrpc_notification_bytes_queued, polyrpc_notification_bytes_limit    the budget of queued notification bytes
//	polyrpc_notification_budget_dropped_total, _closed_total, _waited_total what that budget made happen
//
// transport is one of inproc, ipc, http, ws. A subscription's method is its subscribe method and
// its name, "chat_subscribe/messages", so that the subscriptions of one namespace stay apart;
// a subscribe call is counted under the same value.
//
// Use:
//
//	m := promrpc.New(nil)
//	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{m.Middleware()}, Hooks: m.Hooks()})
//	// register the services, then:
//	m.Attach(srv, rpc.TransportHTTP, rpc.TransportWS)
//	prometheus.MustRegister(m)
//	http.Handle("/metrics", promhttp.Handler())
//
// The middleware should be the first (outermost) one, so that it counts what later ones
// refuse. Its per-call cost is a few atomic additions: the metrics of each (transport, method)
// pair are looked up by [rpc.MethodInfo].Index in a slice, with no allocation.
package promrpc
