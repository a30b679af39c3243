package integration_test

import (
	"io"
	"net"
	"sync"
	"testing"
)

// cutProxy forwards the TCP connections it accepts on 127.0.0.1 to a target address. cut
// closes every connection it carries, so that their clients see the network drop while the
// server runs on, and until resume it closes the connections it accepts at once.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup // the accept loop and each connection's copies

	mu     sync.Mutex
	paused bool
	conns  map[net.Conn]struct{} // both ends of every forwarded connection
}

// startCutProxy starts a proxy to target; it is closed when the test ends.
func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.cut(true)
		p.wg.Wait()
	})
	return p
}

// addr is the proxy's host:port.
func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

// forward copies between c and a new connection to the target until either side ends.
func (p *cutProxy) forward(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	if paused {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	if p.paused { // cut while dialling
		p.mu.Unlock()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut closes every forwarded connection; with pause, new ones are refused until resume.
func (p *cutProxy) cut(pause bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = pause
	for c := range p.conns {
		c.Close()
	}
}

// resume forwards new connections again.
func (p *cutProxy) resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}
