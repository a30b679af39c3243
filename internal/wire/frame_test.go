package wire

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// refFrameScanner is the frame scanner as it was before it read eight bytes at a time: one byte
// at a time, the plain statement of the framing rules. The tests hold the fast one to it.
type refFrameScanner struct {
	started bool
	scalar  bool
	inStr   bool
	esc     bool
	depth   int
	objects []uint64 // bit i set: the bracket open at depth i+1 is '{'
}

// push opens a bracket.
func (s *refFrameScanner) push(obj bool) {
	s.depth++
	word, bit := (s.depth-1)/64, uint((s.depth-1)%64)
	for len(s.objects) <= word {
		s.objects = append(s.objects, 0)
	}
	if obj {
		s.objects[word] |= 1 << bit
	} else {
		s.objects[word] &^= 1 << bit
	}
}

// pop closes the innermost bracket and reports whether c matches it.
func (s *refFrameScanner) pop(c byte) bool {
	word, bit := (s.depth-1)/64, uint((s.depth-1)%64)
	obj := s.objects[word]&(1<<bit) != 0
	s.depth--
	return obj == (c == '}')
}

// scan consumes data and returns how many bytes it used and whether the value is complete.
func (s *refFrameScanner) scan(data []byte) (int, bool) {
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !s.started {
			s.started = true
			switch c {
			case '{', '[':
				s.push(c == '{')
			case '"':
				s.inStr = true
			default:
				s.scalar = true
				if isStructural(c) {
					return i + 1, true
				}
			}
			continue
		}
		switch {
		case s.scalar:
			if isSpace(c) || isStructural(c) {
				return i, true
			}
		case s.inStr:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inStr = false
				if s.depth == 0 {
					return i + 1, true
				}
			}
		case c == '"':
			s.inStr = true
		case c == '{' || c == '[':
			s.push(c == '{')
		case c == '}' || c == ']':
			if !s.pop(c) || s.depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(data), false
}

// checkFrameScanner feeds in to the frame scanner and to the reference one in pieces of the
// given sizes (cycled), value after value, and fails at the first answer they disagree on.
func checkFrameScanner(t *testing.T, in []byte, chunks []int) {
	t.Helper()
	var fast Framer
	var ref refFrameScanner
	for pos, call := 0, 0; pos < len(in); call++ {
		end := min(len(in), pos+chunks[call%len(chunks)])
		n, complete := fast.Scan(in[pos:end])
		rn, rcomplete := ref.scan(in[pos:end])
		if n != rn || complete != rcomplete {
			t.Fatalf("input %q in pieces %v, piece %q at %d: scan gave %d, %v; want %d, %v",
				in, chunks, in[pos:end], pos, n, complete, rn, rcomplete)
		}
		pos += n
		if complete {
			fast, ref = Framer{}, refFrameScanner{}
		}
	}
}

// TestFrameScannerMatchesReference: on random text made of the bytes that matter to framing,
// in random pieces, the eight-byte scanner finds the same ends as the reference one.
func TestFrameScannerMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Brackets and quotes are frequent so that values nest, close and mismatch; backslashes
	// come in runs; plain bytes make the stretches the word scan passes over.
	const alphabet = "{{[[}}]]\"\"\"\"\"\\\\\\ ,:ab1_-xyY\x7f"
	for range 3000 {
		in := make([]byte, 1+rng.IntN(300))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		chunks := []int{len(in)}
		if rng.IntN(3) > 0 {
			chunks = []int{1 + rng.IntN(20), 1 + rng.IntN(20), 1 + rng.IntN(3)}
		}
		checkFrameScanner(t, in, chunks)
	}
	deep := strings.Repeat(`[{"a\"]":`, 200) + `"}\\"` + strings.Repeat(`}]`, 200)
	for _, in := range []string{
		deep,                             // beyond 64 and 128 levels, and back
		deep[:len(deep)-5] + `]]` + deep, // a mismatch at depth
		`["` + strings.Repeat(`\\`, 31) + `"]"]`,
		`{"k":"` + strings.Repeat("v", 100) + `\u00e9"}` + `[1,2,[3,{"x":[]}]]`,
	} {
		for _, chunks := range [][]int{{len(in)}, {1}, {7}, {8}, {9}, {13, 3}} {
			checkFrameScanner(t, []byte(in), chunks)
		}
	}
}

// FuzzFrameScanner holds the frame scanner to the reference one on any input.
func FuzzFrameScanner(f *testing.F) {
	f.Add([]byte(`{"a":[1,"}]"],"b\"":{}}["x\\"]`), uint8(5))
	f.Add([]byte(`[[[{"\\\\\"":"]"}]]]]`), uint8(9))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		if len(in) > 0 {
			checkFrameScanner(t, in, []int{1 + int(chunk)%32, 8, 1 + int(chunk)/32})
		}
	})
}
