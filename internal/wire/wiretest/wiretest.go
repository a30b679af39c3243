// Package wiretest holds test data shared by the tests and benchmarks of package wire and of
// the packages built on it. It imports only the standard library.
package wiretest

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"sync"
)

// EchoDoc returns the document of the echo benchmarks: a JSON object of about 64 KiB shaped
// like the echo document of integration_test/bench (transactions with hex strings, numbers,
// booleans, null, nested logs and a non-ASCII note), compact with sorted keys. It is the same
// every time, and shared: callers must not modify it.
var EchoDoc = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	hexs := func(n int) string {
		b := []byte("0x")
		for range n {
			b = append(b, "0123456789abcdef"[rng.IntN(16)])
		}
		return string(b)
	}
	txs := map[string]any{}
	for n := 0; ; n++ {
		var logs []any
		for range rng.IntN(3) {
			logs = append(logs, map[string]any{
				"address": hexs(40), "data": hexs(64), "removed": false,
				"topics": []any{hexs(64), hexs(64)},
			})
		}
		if logs == nil {
			logs = []any{}
		}
		txs["tx"+strconv.Itoa(n)] = map[string]any{
			"gasPrice": float64(rng.IntN(1<<30)) / 4, "hash": hexs(64), "input": hexs(2 * rng.IntN(48)),
			"logs": logs, "memo": nil, "nonce": float64(rng.IntN(1 << 20)),
			"note": "transfer #" + strconv.Itoa(n) + " — café ✓", "success": rng.IntN(2) == 0,
			"value": hexs(16),
		}
		doc, err := json.Marshal(txs)
		if err != nil {
			panic(err)
		}
		if len(doc) >= 64<<10 {
			return doc
		}
	}
})
