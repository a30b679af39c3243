package wsrpc

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// countConn records the writes that reach the network.
type countConn struct {
	net.Conn
	writes [][]byte
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *countConn) SetWriteDeadline(time.Time) error { return nil }

func TestBatchConn(t *testing.T) {
	big := bytes.Repeat([]byte("x"), maxBatch)
	for _, tc := range []struct {
		name   string
		burst  bool
		frames [][]byte
		writes int
	}{
		{"no burst: each frame written", false, [][]byte{[]byte("a"), []byte("b")}, 2},
		{"burst: one write", true, [][]byte{[]byte("a"), []byte("b"), []byte("c")}, 1},
		{"burst: an empty one writes nothing", true, nil, 0},
		{"burst: too big to gather", true, [][]byte{[]byte("a"), big, []byte("c")}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := &countConn{}
			b := &batchConn{Conn: cc}
			if tc.burst {
				b.begin()
			}
			var want []byte
			for _, f := range tc.frames {
				if n, err := b.Write(f); n != len(f) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				want = append(want, f...)
			}
			if err := b.flush(time.Now()); err != nil {
				t.Fatal(err)
			}
			if len(cc.writes) != tc.writes {
				t.Errorf("%d writes, want %d", len(cc.writes), tc.writes)
			}
			if got := bytes.Join(cc.writes, nil); !bytes.Equal(got, want) {
				t.Errorf("bytes written differ from the frames, in order")
			}
			if b.buf != nil {
				t.Error("the burst buffer was kept after the flush")
			}
		})
	}
}
