// Package wire is polyrpc's JSON codec at the level of bytes: it knows JSON and the shape of
// JSON-RPC 2.0 messages, and nothing of servers, sessions or connections. It imports only the
// standard library; package rpc, package subscriptions and the transports build every message
// polyrpc writes with it, so that a value is encoded the same way wherever it goes.
//
// What it holds, by file:
//
//   - scan.go, the validating scanner: [Validate], [Object], [Array], [SplitArray] check syntax
//     exactly as encoding/json does and report where values start and end, without allocating;
//     [SkipSpace], [KeyIs] and [Unquote] read what they report.
//   - skip.go, the skipper for input the scanner has already validated: [EachElem], [SkipValid].
//   - frame.go, the stream framer: a [Framer] finds where each JSON value of a byte stream ends.
//   - append.go, the appenders: [AppendString], and [AppendJSON] for any Go value, both as
//     encoding/json encodes with HTML escaping off.
//   - anydecode.go and anyencode.go: [DecodeAny] gives what json.Unmarshal gives into an `any`,
//     and AppendJSON writes those values itself, byte for byte as encoding/json does.
//   - envelope.go: the request envelope ([Request], [ParseRequest], [ParseBatch]) and the
//     envelopes of what a server sends ([AppendResultHead], [AppendError],
//     [AppendNotificationHead], [AppendNotificationEnd], [AppendLagNotice],
//     [AppendPositionNotice]).
//
// Every function that has an encoding/json counterpart is tested, and fuzzed, against it.
package wire
