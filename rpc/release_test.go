package rpc_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// TestStreamReleasedBuffersNoCrossTalk: stream connections hand their large messages' buffers
// to a pool shared by every connection once the server has answered them (Conn.Release). Here
// several connections pipeline large echo calls, each with a document of its own, so that
// buffers released by one connection's calls are read into by others while calls still run:
// every answer must be exactly its own request's document. (Under -race, a buffer used after
// its release would also show as a race.)
func TestStreamReleasedBuffersNoCrossTalk(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := rpctest.NewServer(t, nil)
	const conns, calls = 4, 24
	var wg sync.WaitGroup
	for c := range conns {
		client, server := net.Pipe()
		served := make(chan error, 1)
		go func() { served <- srv.ServeStream(server, rpc.ConnOptions{}) }()
		t.Cleanup(func() {
			client.Close()
			<-served
		})
		client.SetDeadline(time.Now().Add(30 * time.Second))
		docs := make([]string, calls)
		rng := rand.New(rand.NewPCG(uint64(c), 7))
		for k := range docs {
			// 8 to 100 KB of short strings (the decoder copies them into windows) and one
			// long one, all told apart by connection and call.
			var b strings.Builder
			fmt.Fprintf(&b, `{"conn":%d,"call":%d,"items":[`, c, k)
			for i := range 200 + rng.IntN(2000) {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"c%dk%di%d"`, c, k, i)
			}
			fmt.Fprintf(&b, `],"long":"%s"}`, strings.Repeat(string(rune('a'+c)), 2000+rng.IntN(20000)))
			docs[k] = b.String()
		}
		wg.Go(func() {
			for k, doc := range docs {
				if _, err := fmt.Fprintf(client, `{"jsonrpc":"2.0","id":%d,"method":"test_echoAny","params":[%s]}`+"\n", k, doc); err != nil {
					t.Errorf("conn %d: write: %v", c, err)
					return
				}
			}
		})
		wg.Go(func() {
			sc := bufio.NewScanner(client)
			sc.Buffer(nil, 1<<20)
			for range calls {
				if !sc.Scan() {
					t.Errorf("conn %d: no answer: %v", c, sc.Err())
					return
				}
				var resp struct {
					ID     int
					Result json.RawMessage
				}
				if err := json.Unmarshal(sc.Bytes(), &resp); err != nil || resp.ID < 0 || resp.ID >= calls {
					t.Errorf("conn %d: answer %.200s: %v", c, sc.Bytes(), err)
					return
				}
				var got, want any
				json.Unmarshal(resp.Result, &got)
				json.Unmarshal([]byte(docs[resp.ID]), &want)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("conn %d, call %d: the answer is not the document sent: %.200s", c, resp.ID, resp.Result)
				}
			}
		})
	}
	wg.Wait()
}
