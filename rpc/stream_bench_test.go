package rpc

import (
	"encoding/json"
	"strconv"
	"testing"
)

// benchStream is an endless in-memory stream for benchmarks: reads deliver data over and over,
// at most chunk bytes at a time (a read never crosses the end of data, as a socket's read does
// not cross the end of what the peer wrote at once), and writes are discarded. Neither
// allocates, so the figures are the stream connection's own.
type benchStream struct {
	data  []byte
	pos   int
	chunk int
}

// Read copies the next piece of data into p, starting over at the end.
func (s *benchStream) Read(p []byte) (int, error) {
	if s.pos == len(s.data) {
		s.pos = 0
	}
	n := copy(p[:min(len(p), s.chunk)], s.data[s.pos:])
	s.pos += n
	return n, nil
}

// Write discards p, like io.Discard.
func (s *benchStream) Write(p []byte) (int, error) { return len(p), nil }

// Close does nothing.
func (s *benchStream) Close() error { return nil }

// benchLargeObject returns a JSON object of about size bytes with many short string and number
// members, as encoding/json writes it from a map: the shape of a large realistic request, not
// one long string that the scanner could skip a word at a time.
func benchLargeObject(size int) []byte {
	m := map[string]any{}
	for i := 0; ; i++ {
		k := "key" + strconv.Itoa(i)
		if i%2 == 0 {
			m[k] = "value-" + strconv.Itoa(i*7919)
		} else {
			m[k] = float64(i) * 1.25
		}
		if i%64 == 63 {
			b, _ := json.Marshal(m)
			if len(b) >= size {
				return b
			}
		}
	}
}

// benchRepeat returns n copies of msg, each followed by a newline.
func benchRepeat(msg []byte, n int) []byte {
	var out []byte
	for range n {
		out = append(out, msg...)
		out = append(out, '\n')
	}
	return out
}

// BenchmarkStreamConn measures framing incoming messages (ReadMessage) and gathering outgoing
// ones (WriteMessage, Flush) on a stream connection, for large messages and small ones.
func BenchmarkStreamConn(b *testing.B) {
	large := benchLargeObject(64 << 10)
	small := []byte(`{"jsonrpc":"2.0","id":1234,"method":"eth_getBalance","params":[]}`)

	read := func(b *testing.B, msg []byte, copies, chunk int, release bool) {
		c := newStreamConn(&benchStream{data: benchRepeat(msg, copies), chunk: chunk}, 0)
		b.ReportAllocs()
		b.SetBytes(int64(len(msg) + 1))
		for b.Loop() {
			got, err := c.ReadMessage()
			if err != nil || len(got) != len(msg) {
				b.Fatalf("read %d bytes, %v; want %d", len(got), err, len(msg))
			}
			if release {
				c.Release(got)
			}
		}
	}
	// A large request arrives in socket-sized reads, the last one ending with it, as from a client
	// that waits for each answer; kept by the reader, or given back as the server does once it
	// has answered (its buffer then serves the next message).
	b.Run("read/64KiB-object", func(b *testing.B) { read(b, large, 1, 16<<10, false) })
	b.Run("read/64KiB-object-released", func(b *testing.B) { read(b, large, 1, 16<<10, true) })
	// Pipelined large requests: reads run on from one into the next.
	b.Run("read/64KiB-pipelined", func(b *testing.B) { read(b, large, 4, 16<<10, false) })
	// Pipelined small requests: many in each read.
	b.Run("read/small-pipelined", func(b *testing.B) { read(b, small, 1000, 16<<10, false) })
	// One small request at a time, as a client that waits for each answer sends them.
	b.Run("read/small-one-per-read", func(b *testing.B) { read(b, small, 1, 16<<10, false) })

	// A large answer, written alone, as the server does with one answer per burst.
	b.Run("write/70KiB", func(b *testing.B) {
		msg := append(benchLargeObject(70<<10), '\n')
		c := newStreamConn(&benchStream{}, 0)
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if err := c.WriteMessage(msg); err != nil {
				b.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Bursts of eight small answers, each burst ended by a Flush.
	b.Run("write/small-burst-of-8", func(b *testing.B) {
		msg := append(append([]byte(nil), small...), '\n')
		c := newStreamConn(&benchStream{}, 0)
		b.ReportAllocs()
		b.SetBytes(int64(8 * len(msg)))
		for b.Loop() {
			for range 8 {
				if err := c.WriteMessage(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
