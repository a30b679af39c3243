package rpc

import (
	"context"
	"io"
	"strconv"
)

// ServeConn serves one connection until it fails or is closed: it reads messages, runs their
// calls concurrently (up to Options.MaxConcurrentCalls) and writes each answer as it is ready.
// When the peer ends its side cleanly (io.EOF, for example after a half-close), answers to the
// calls already received are still written, unless conn is a [HangupNotifier] that reports the
// peer gone altogether: then the calls are cancelled, since nobody is left to read their
// answers. conn may also be a [Flusher], a [Releaser] and a [ReasonCloser]. ServeConn closes
// conn before returning; it returns nil after a clean end.
func (s *Server) ServeConn(conn Conn, opts ConnOptions) error {
	opts.TwoWay = true
	ctx := context.Background()
	if opts.Context != nil {
		ctx = context.WithoutCancel(opts.Context)
	}
	ss, err := s.NewSession(ctx, opts, conn)
	if err != nil {
		conn.Close()
		return err
	}
	defer ss.Close()
	r := newReader(s, ss, conn)
	ss.back.handOff = r.handOff
	defer r.wd.stop()
	r.loop()
	err = <-r.done
	if err != nil {
		ss.shut("read failed: "+err.Error(), false)
	}
	return err
}

func (s *Server) errTooLarge() *Error {
	return invalidRequest("message too large: the limit is " + strconv.Itoa(s.cfg.maxMessage) + " bytes")
}

// ServeStream serves a byte stream (a unix socket, a named pipe, a TCP connection) that carries
// consecutive JSON values, with the server's message size limit and request budget; see
// [NewStreamConn] and ServeConn. rwc may be a [HangupNotifier].
func (s *Server) ServeStream(rwc io.ReadWriteCloser, opts ConnOptions) error {
	c := newStreamConn(rwc, s.cfg.maxMessage)
	c.budget = &s.budget
	return s.ServeConn(c, opts)
}
