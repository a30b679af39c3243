package rpctest

import (
	"log/slog"

	"github.com/polyrpc/polyrpc/internal/testservice"
	"github.com/polyrpc/polyrpc/rpc"
)

// NewServer returns a server with the reference services of internal/testservice registered
// (namespaces test, nftest, notify and get). The server is stopped when the test ends.
//
// Unless opts sets a Logger, the server's log (panics of test_panic, for example) is discarded.
func NewServer(tb interface{ Cleanup(func()) }, opts *rpc.Options) *rpc.Server {
	o := rpc.Options{}
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	srv := rpc.NewServer(&o)
	if err := testservice.Register(srv); err != nil {
		panic(err)
	}
	if tb != nil {
		tb.Cleanup(srv.Stop)
	}
	return srv
}

// LimitsOptions returns the options of the server that the transcripts of rpc/testdata/limits
// are written for: tiny limits (MaxMessageBytes 128), so that a transcript line can exceed them.
func LimitsOptions() *rpc.Options { return &rpc.Options{MaxMessageBytes: 128} }

// The types of the reference services that tests name, from internal/testservice (which the
// polyrpc binary links without this package, and so without testing).
type (
	// Service is the main test service, registered as "test".
	Service = testservice.Service
	// EchoArgs is the optional third argument of test_echo.
	EchoArgs = testservice.EchoArgs
	// EchoResult is what test_echo returns.
	EchoResult = testservice.EchoResult
	// Person is the single struct argument of test_echoPerson.
	Person = testservice.Person
	// Subs is the reference subscription service, registered as "nftest".
	Subs = testservice.Subs
	// FloodItem is one notification of nftest_subscribe ["flood", …].
	FloodItem = testservice.FloodItem
)
