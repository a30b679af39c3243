package wire

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/internal/wire/wiretest"
)

// This file measures the floor under DecodeAny and appendAny: the work that any decoder of JSON
// into an `any`, and any encoder of the result, must do whatever its parsing, because of the
// values it has to produce or read. Building the echo document's maps, slices and boxed numbers
// from a recipe made beforehand (no JSON read, the strings sliced from one copy of the input)
// is the decoder's floor; ranging over those maps, sorting their keys and copying bytes (no
// escaping checked, integers written by strconv.AppendInt) is the encoder's. The 64 KiB echo's
// target (4× go-ethereum's calls/s) is judged against these floors in the benchmark README.

// floorNode is one value of the recipe.
type floorNode struct {
	kind      byte // '{', '[', '"', '0' (a number), 't', 'f', 'n'
	keys      []string
	kids      []*floorNode
	off, size int // a string's bytes in the recipe's blob
	num       float64
}

// floorRecipe records v, a decoded document, appending its strings to blob.
func floorRecipe(v any, blob *[]byte) *floorNode {
	switch x := v.(type) {
	case map[string]any:
		n := &floorNode{kind: '{'}
		for k, e := range x {
			n.keys = append(n.keys, k)
			n.kids = append(n.kids, floorRecipe(e, blob))
		}
		return n
	case []any:
		n := &floorNode{kind: '['}
		for _, e := range x {
			n.kids = append(n.kids, floorRecipe(e, blob))
		}
		return n
	case string:
		n := &floorNode{kind: '"', off: len(*blob), size: len(x)}
		*blob = append(*blob, x...)
		return n
	case float64:
		return &floorNode{kind: '0', num: x}
	case bool:
		if x {
			return &floorNode{kind: 't'}
		}
		return &floorNode{kind: 'f'}
	}
	return &floorNode{kind: 'n'}
}

// build makes the value n records, its strings sliced from s.
func (n *floorNode) build(s string) any {
	switch n.kind {
	case '{':
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.kids[i].build(s)
		}
		return m
	case '[':
		a := make([]any, len(n.kids))
		for i, k := range n.kids {
			a[i] = k.build(s)
		}
		return a
	case '"':
		return s[n.off : n.off+n.size]
	case '0':
		return n.num
	case 't':
		return true
	case 'f':
		return false
	}
	return nil
}

// floorWrite appends v without any of the checks JSON needs: keys sorted, strings copied as
// they are, numbers as integers where they are integers.
func floorWrite(buf []byte, v any, keys []string) ([]byte, []string) {
	switch x := v.(type) {
	case map[string]any:
		base := len(keys)
		for k := range x {
			keys = append(keys, k)
		}
		ks := keys[base:]
		slices.SortFunc(ks, strings.Compare)
		buf = append(buf, '{')
		for i, k := range ks {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(append(append(buf, '"'), k...), '"', ':')
			buf, keys = floorWrite(buf, x[k], keys)
		}
		return append(buf, '}'), keys[:base]
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf, keys = floorWrite(buf, e, keys)
		}
		return append(buf, ']'), keys
	case string:
		return append(append(append(buf, '"'), x...), '"'), keys
	case float64:
		if x == float64(int64(x)) {
			return strconv.AppendInt(buf, int64(x), 10), keys
		}
		return strconv.AppendFloat(buf, x, 'f', -1, 64), keys
	case bool:
		return strconv.AppendBool(buf, x), keys
	}
	return append(buf, "null"...), keys
}

// The floor writes the same bytes as appendAny for the echo document (whose strings need no
// escaping), so that it measures the same output.
func TestAnyFloorWritesTheDocument(t *testing.T) {
	doc := wiretest.EchoDoc()
	v, err := DecodeAny(doc)
	if err != nil {
		t.Fatal(err)
	}
	var blob []byte
	w := floorRecipe(v, &blob).build(string(blob))
	if !sameAny(w, v) {
		t.Fatal("the recipe builds another document")
	}
	if got, _ := floorWrite(nil, w, nil); string(got) != string(doc) {
		t.Fatalf("floorWrite gives %d bytes that differ from the %d of the document", len(got), len(doc))
	}
}

// BenchmarkAnyJSON64KiBFloor compares DecodeAny and appendAny with their floors on the echo
// document, in one run: decode against build, encode (into a buffer kept from one encode to the
// next, as the server's pooled answer buffers are) against write.
func BenchmarkAnyJSON64KiBFloor(b *testing.B) {
	doc := wiretest.EchoDoc()
	v, err := DecodeAny(doc)
	if err != nil {
		b.Fatal(err)
	}
	var blob []byte
	recipe := floorRecipe(v, &blob)
	var buf []byte
	var keys []string
	for _, bm := range []struct {
		name string
		fn   func()
	}{
		{"decode", func() {
			if _, err := DecodeAny(doc); err != nil {
				b.Fatal(err)
			}
		}},
		{"build", func() { recipe.build(string(blob)) }}, // one copy of the strings, as the decoder's windows
		{"encode", func() {
			if buf, err = appendAny(buf[:0], v); err != nil {
				b.Fatal(err)
			}
		}},
		{"write", func() { buf, keys = floorWrite(buf[:0], v, keys) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				bm.fn()
			}
		})
	}
}
