package burst

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// recorder records the writes that reach it.
type recorder struct {
	writes [][]byte
	err    error // returned by every write when set
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

// TestWriter checks which writes reach W, and that every byte does, in order.
func TestWriter(t *testing.T) {
	const limit = 100
	small := []byte("abc")
	big := bytes.Repeat([]byte("x"), limit-2)
	direct := bytes.Repeat([]byte("d"), 10)
	type step struct {
		begin, flush bool
		p            []byte
	}
	w := func(p []byte) step { return step{p: p} }
	begin, flush := step{begin: true}, step{flush: true}
	for _, tc := range []struct {
		name   string
		direct int
		steps  []step
		writes []int // lengths of the writes that reach W
	}{
		{"no burst: each write goes through", 0, []step{w(small), w(small)}, []int{3, 3}},
		{"burst: one write", 0, []step{begin, w(small), w(small), w(small), flush}, []int{9}},
		{"empty burst: nothing", 0, []step{begin, flush}, nil},
		{"flush outside a burst: nothing", 0, []step{flush}, nil},
		{"over the bound: what was gathered, then the write", 0,
			[]step{begin, w(small), w(big), flush}, []int{3, limit - 2}},
		{"over the bound: the burst stays open", 0,
			[]step{begin, w(small), w(big), w(small), w(small), flush}, []int{3, limit - 2, 6}},
		{"exactly the bound: gathered", 0, []step{begin, w(small), w(big[:limit-3]), flush}, []int{limit}},
		{"direct: written through, in order", 10,
			[]step{begin, w(small), w(direct), w(small), flush}, []int{3, 10, 3}},
		{"under direct: gathered", 11, []step{begin, w(small), w(direct), flush}, []int{13}},
		{"after a flush: straight through again", 0,
			[]step{begin, w(small), flush, w(small)}, []int{3, 3}},
		{"begin twice: one burst", 0, []step{begin, w(small), begin, w(small), flush}, []int{6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			bw := &Writer{W: rec, Max: limit, Direct: tc.direct}
			var want []byte
			for _, s := range tc.steps {
				switch {
				case s.begin:
					bw.Begin()
				case s.flush:
					if err := bw.Flush(); err != nil {
						t.Fatal(err)
					}
				default:
					if n, err := bw.Write(s.p); n != len(s.p) || err != nil {
						t.Fatalf("Write = %d, %v", n, err)
					}
					want = append(want, s.p...)
				}
			}
			var got []int
			for _, b := range rec.writes {
				got = append(got, len(b))
			}
			if !slices.Equal(got, tc.writes) {
				t.Errorf("writes of %v bytes, want %v", got, tc.writes)
			}
			if all := bytes.Join(rec.writes, nil); !bytes.Equal(all, want) {
				t.Errorf("the bytes written differ from the bytes given, in order")
			}
			if bw.Open() || bw.buf != nil {
				t.Errorf("after the last step: open %v, holding a buffer %v", bw.Open(), bw.buf != nil)
			}
		})
	}
}

// TestWriterErrors: a failed write is reported by the Write or Flush that made it, and the
// buffer is given back all the same.
func TestWriterErrors(t *testing.T) {
	boom := errors.New("boom")
	rec := &recorder{err: boom}
	bw := &Writer{W: rec, Max: 10}
	bw.Begin()
	if _, err := bw.Write([]byte("abc")); err != nil {
		t.Fatalf("a gathered write failed: %v", err)
	}
	if err := bw.Flush(); !errors.Is(err, boom) {
		t.Errorf("Flush = %v, want %v", err, boom)
	}
	if bw.buf != nil {
		t.Error("a failed Flush kept its buffer")
	}
	bw.Begin()
	bw.Write([]byte("abc"))
	if _, err := bw.Write(make([]byte, 20)); !errors.Is(err, boom) {
		t.Errorf("Write over the bound = %v, want %v", err, boom)
	}
	if _, err := bw.Write([]byte("abc")); err != nil {
		t.Fatalf("a gathered write failed: %v", err)
	}
	bw.Flush()
	if _, err := bw.Write([]byte("abc")); !errors.Is(err, boom) {
		t.Errorf("Write outside a burst = %v, want %v", err, boom)
	}
}

// TestGather: Gather takes a write only into a burst that already holds gathered bytes, within
// the bounds; what it takes is written at Flush with the rest, in order.
func TestGather(t *testing.T) {
	rec := &recorder{}
	bw := &Writer{W: rec, Max: 10, Direct: 5}
	if bw.Gather([]byte("a")) {
		t.Fatal("Gather took a write outside a burst")
	}
	bw.Begin()
	if bw.Gather([]byte("a")) {
		t.Fatal("Gather took the first write of a burst (no buffer held)")
	}
	bw.Write([]byte("a"))
	for _, tc := range []struct {
		p    string
		want bool
	}{{"bc", true}, {"direc", false}, {"defghi", false}, {"defghij", false}, {"defg", true}, {"hij", true}, {"k", false}} {
		if got := bw.Gather([]byte(tc.p)); got != tc.want {
			t.Errorf("Gather(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := string(bytes.Join(rec.writes, nil)); got != "abcdefghij" || len(rec.writes) != 1 {
		t.Errorf("writes %q, want one of %q", rec.writes, "abcdefghij")
	}
}
