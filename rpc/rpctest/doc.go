// Package rpctest holds test support shared by the rpc package and every transport, as
// net/http/httptest does for net/http:
//
//   - [NewServer] builds a server with the reference test services (package internal/testservice:
//     namespaces test, nftest, notify and get) that the wire transcripts in rpc/testdata exercise;
//   - [RunTranscripts] replays those transcripts over any transport through a [Wire], so the same
//     conformance suite runs in-process, over IPC, HTTP and WebSocket;
//   - [CheckLeaks] fails a test that leaves goroutines behind.
//
// It imports testing, so no production package may import it (.ci/deps checks this).
package rpctest
