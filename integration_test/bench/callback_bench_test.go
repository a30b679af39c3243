package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports"
)

// backService is the server side of BenchmarkCallbackRoundTrip: Ping answers at once, CallBack
// calls the client's ui_ping n times in a row.
type backService struct{}

func (backService) Ping() int { return 1 }

func (backService) CallBack(ctx context.Context, n int) (int, error) {
	var v int
	for range n {
		if err := rpc.CallClient(ctx, &v, "ui_ping"); err != nil {
			return 0, err
		}
	}
	return v, nil
}

// pingService is the client's: ui_ping answers at once.
type pingService struct{}

func (pingService) Ping() int { return 1 }

// BenchmarkCallbackRoundTrip compares, on one WebSocket or IPC connection and in the same run,
// a server→client call's round trip (the server's method calls the client's ui_ping, as
// CallClient does, and waits for its answer) with a client→server call's (the client calls
// the server's back_ping). The two alternate in rounds of 200 calls, so that both meet the
// same load; the reported metrics are each one's time per call and the ratio.
func BenchmarkCallbackRoundTrip(b *testing.B) {
	for _, ep := range polyEndpoints {
		if ep.name == "http" {
			continue
		}
		b.Run(ep.name, func(b *testing.B) {
			srv := rpc.NewServer(nil)
			b.Cleanup(srv.Stop)
			if err := srv.Register("back", backService{}); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			c, err := transports.Dial(ctx, ep.start(b, srv), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			if err := c.Register("ui", pingService{}); err != nil {
				b.Fatal(err)
			}
			const round = 200
			var v int
			if err := c.Call(ctx, &v, "back_callBack", round); err != nil { // warm up both ways
				b.Fatal(err)
			}
			var toServer, toClient time.Duration
			calls := 0
			b.ResetTimer()
			for calls < b.N {
				start := time.Now()
				for range round {
					if err := c.Call(ctx, &v, "back_ping"); err != nil {
						b.Fatal(err)
					}
				}
				mid := time.Now()
				if err := c.Call(ctx, &v, "back_callBack", round); err != nil {
					b.Fatal(err)
				}
				toServer += mid.Sub(start)
				toClient += time.Since(mid)
				calls += round
			}
			b.StopTimer()
			ts, tc := float64(toServer.Nanoseconds())/float64(calls), float64(toClient.Nanoseconds())/float64(calls)
			b.ReportMetric(ts, "ns/to-server")
			b.ReportMetric(tc, "ns/to-client")
			b.ReportMetric(tc/ts, "ratio")
			b.ReportMetric(0, "ns/op")
			if testing.Verbose() {
				fmt.Printf("%s: client→server %.1f µs, server→client %.1f µs, ratio %.2f\n", ep.name, ts/1e3, tc/1e3, tc/ts)
			}
		})
	}
}
