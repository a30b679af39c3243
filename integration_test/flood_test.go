package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The flood tests are the acceptance test of the request-bytes budget
// (rpc.Options.MaxRequestBytesInFlight): go-ethereum's peak resident memory is about 2.2 GiB
// under the HTTP flood and 4.5 GiB under the WebSocket flood; polyrpc must stay under
// maxFloodRSS in both, refuse what it cannot take (HTTP 503 with Retry-After, -32005 on
// WebSocket, each refusal carrying the request's id), and keep answering a small call from
// another client meanwhile.

const (
	maxFloodRSS = 1 * giB
	// probeDeadline bounds one small call (retries after -32005 included) during a flood.
	probeDeadline = 5 * time.Second
	// floodTimeout bounds each flooding request, from the start of its write to its answer.
	floodTimeout = 45 * time.Second
)

// padding returns n letters and digits, a JSON string body that needs no escaping: a random
// block of 64 KiB repeated (built quickly, even with the race detector on).
func padding(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	r := rand.New(rand.NewPCG(1, 2))
	block := make([]byte, 64*kiB)
	for i := range block {
		block[i] = alphabet[r.IntN(len(alphabet))]
	}
	return strings.Repeat(string(block), n/len(block)+1)[:n]
}

// floodCase is one kind of large request.
type floodCase struct {
	name string
	// request builds the request for a padding string, with id floodID.
	request func(pad string) []byte
	// check validates a successful answer to the request with id (as JSON).
	check func(answer []byte, pad, id string) error
}

// floodID is the id of the flood requests. It is the first member of each, at a fixed offset
// and with a fixed width, so that each connection of a WebSocket flood can send the frame
// with an id of its own (sendFrames): floodID+i for connection i.
const floodID = 1000

// The answers are compared byte for byte: decoding a 30 MiB answer with encoding/json in the
// race-instrumented test process would take long enough to stall the flood.
var floodCases = []floodCase{
	{
		// The padding comes back: every request also makes an answer of the same size.
		name: "echo",
		request: func(pad string) []byte {
			return []byte(`{"id":` + strconv.Itoa(floodID) + `,"jsonrpc":"2.0","method":"test_echo","params":["` + pad + `",7]}`)
		},
		check: func(answer []byte, pad, id string) error {
			head, tail := `{"jsonrpc":"2.0","id":`+id+`,"result":{"String":"`, `","Int":7,"Args":null}}`
			a := bytes.TrimSpace(answer)
			if len(a) != len(head)+len(pad)+len(tail) || !bytes.HasPrefix(a, []byte(head)) ||
				!bytes.HasSuffix(a, []byte(tail)) || string(a[len(head):len(a)-len(tail)]) != pad {
				return fmt.Errorf("wrong answer of %d bytes: %.200s", len(answer), answer)
			}
			return nil
		},
	},
	{
		// The padding is an extra member of the request object, which JSON-RPC ignores: the
		// request is held for test_block's 300 ms and answered in a few bytes.
		name: "held",
		request: func(pad string) []byte {
			return []byte(`{"id":` + strconv.Itoa(floodID) + `,"jsonrpc":"2.0","method":"test_block","params":[300],"padding":"` + pad + `"}`)
		},
		check: func(answer []byte, _, id string) error {
			if want := `{"jsonrpc":"2.0","id":` + id + `,"result":"done"}`; string(bytes.TrimSpace(answer)) != want {
				return fmt.Errorf("answer %.200s, want %s", answer, want)
			}
			return nil
		},
	},
}

// readAnswer reads a response body into one buffer of its declared length. io.ReadAll would
// grow a 4 MiB answer through a score of buffers, each copied into the next: under the race
// detector every copy also updates the shadow memory of all its bytes, which made the test
// process itself the bottleneck of a flood, and the probe's small calls wait behind it.
func readAnswer(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= 64*miB {
		b := make([]byte, n)
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	return io.ReadAll(resp.Body)
}

// isBusy tells whether an answer is the -32005 "server busy" error; busyID is its id (JSON),
// which must be the request's.
func isBusy(answer []byte) (busy bool, busyID string) {
	if len(answer) > 4*kiB {
		return false, ""
	}
	var a struct {
		ID    json.RawMessage
		Error *struct{ Code int }
	}
	if json.Unmarshal(answer, &a) != nil || a.Error == nil || a.Error.Code != -32005 {
		return false, ""
	}
	return true, string(a.ID)
}

// floodResult counts the outcomes of a flood.
type floodResult struct {
	ok, busy atomic.Int64
	mu       sync.Mutex
	errs     []string
}

func (r *floodResult) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// sendFrames sends frame, a request whose id is floodID, on every wire at once, with id
// floodID+i on wire i, and collects the answers: -32005 with the request's id counts as busy,
// anything else must pass check.
func sendFrames(wires []*wsWire, frame []byte, check func(answer []byte, id string) error) *floodResult {
	res := new(floodResult)
	at := bytes.Index(frame[:min(len(frame), 4*kiB)], []byte(`"id":`+strconv.Itoa(floodID)))
	if at < 0 || len(wires) > floodID*9 {
		panic("sendFrames: a frame without a request id floodID near its start")
	}
	at += len(`"id":`)
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i, w := range wires {
		wg.Go(func() {
			id := strconv.Itoa(floodID + i) // as wide as floodID: the rest of the frame is shared
			head := append(frame[:at:at], id...)
			<-begin
			err := w.writeRaw(head, floodTimeout)
			if err == nil {
				err = w.writeRaw(frame[at+len(id):], floodTimeout)
			}
			if err != nil {
				res.fail("connection %d: writing the frame: %v", i, err)
				return
			}
			answer, err := w.Recv(floodTimeout)
			busy, busyID := isBusy(answer)
			switch {
			case err != nil:
				res.fail("connection %d: %v", i, err)
			case busy && busyID != id:
				res.fail("connection %d: refused -32005 with id %s, want its request's id %s", i, busyID, id)
			case busy:
				res.busy.Add(1)
			default:
				if err := check(answer, id); err != nil {
					res.fail("connection %d: %v", i, err)
					return
				}
				res.ok.Add(1)
			}
		})
	}
	close(begin)
	wg.Wait()
	return res
}

// report fails the test with the errors recorded (the first few) and checks the counts.
func (r *floodResult) report(t *testing.T, requests int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Errorf("%d of %d requests failed; the first: %s", len(r.errs), requests, strings.Join(r.errs[:min(5, len(r.errs))], "; "))
	}
	if r.ok.Load() == 0 {
		t.Errorf("no request succeeded (%d refused as busy): the server made no progress", r.busy.Load())
	}
}

// prober makes small calls (test_add) one after another until stopped, each within
// probeDeadline (retrying after a -32005 refusal), and records how long they took.
type prober struct {
	stop chan struct{}
	done chan struct{}

	calls, retries int
	maxLatency     time.Duration
	errs           []string
}

func startProber(call func(i int) (busy bool, err error)) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 1; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			start := time.Now()
			for {
				busy, err := call(i)
				if err != nil {
					p.errs = append(p.errs, fmt.Sprintf("call %d: %v", i, err))
					break
				}
				if !busy {
					break
				}
				p.retries++
				if time.Since(start) > probeDeadline {
					p.errs = append(p.errs, fmt.Sprintf("call %d: still refused as busy after %v", i, probeDeadline))
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			d := time.Since(start)
			p.calls++
			p.maxLatency = max(p.maxLatency, d)
			if d > probeDeadline {
				p.errs = append(p.errs, fmt.Sprintf("call %d took %v", i, d.Round(time.Millisecond)))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return p
}

// finish stops the prober and checks its calls.
func (p *prober) finish(t *testing.T) {
	t.Helper()
	close(p.stop)
	<-p.done
	t.Logf("small calls from another client during the flood: %d, slowest %v, %d retries after -32005",
		p.calls, p.maxLatency.Round(time.Millisecond), p.retries)
	if len(p.errs) > 0 {
		t.Errorf("%d small calls failed during the flood; the first: %s", len(p.errs), strings.Join(p.errs[:min(5, len(p.errs))], "; "))
	}
	if p.calls == 0 {
		t.Errorf("no small call was made during the flood")
	}
}

// checkPeak stops the sampler, logs the peak resident memory and checks it.
func checkPeak(t *testing.T, s *server, sampler *rssSampler, baseline int64) {
	t.Helper()
	polled, hwm, samples, err := sampler.peak()
	if err != nil {
		t.Fatalf("sampling RSS: %v", err)
	}
	peak := max(polled, hwm)
	st, _ := s.debugStats()
	t.Logf("server RSS: baseline %s, peak %s (VmHWM %s, largest of %d samples %s); after: heapInuse %s, sys %s, %d goroutines",
		mib(baseline), mib(peak), mib(hwm), samples, mib(polled), mib(int64(st.HeapInuse)), mib(int64(st.Sys)), st.Goroutines)
	if peak >= maxFloodRSS {
		t.Errorf("peak RSS %s, want under %s", mib(peak), mib(maxFloodRSS))
	}
}

// TestFloodHTTP: 100 clients POST a 4 MiB request each, all at once. Each gets 200 with its
// answer or 503 with Retry-After; another client's small call succeeds meanwhile; the server's
// peak RSS stays under 1 GiB.
func TestFloodHTTP(t *testing.T) {
	needProc(t)
	const (
		clients = 100
		size    = 4 * miB
	)
	pad := padding(size)
	for _, fc := range floodCases {
		t.Run(fc.name, func(t *testing.T) {
			s := startServer(t)
			body := fc.request(pad)
			baseline, err := rss(s.PID)
			if err != nil {
				t.Fatal(err)
			}
			sampler := sampleRSS(s.PID)

			probeClient := &http.Client{Timeout: probeDeadline, Transport: &http.Transport{}}
			defer probeClient.CloseIdleConnections()
			p := startProber(func(i int) (bool, error) {
				req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"test_add","params":[%d,1]}`, i, i)
				resp, err := probeClient.Post(s.HTTP, "application/json", strings.NewReader(req))
				if err != nil {
					return false, err
				}
				defer resp.Body.Close()
				answer, err := io.ReadAll(resp.Body)
				switch {
				case err != nil:
					return false, err
				case resp.StatusCode == http.StatusServiceUnavailable:
					return true, nil
				case resp.StatusCode != http.StatusOK:
					return false, fmt.Errorf("%s: %s", resp.Status, answer)
				}
				if want := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%d}`, i, i+1); string(bytes.TrimSpace(answer)) != want {
					return false, fmt.Errorf("answer %s, want %s", answer, want)
				}
				return false, nil
			})

			floodClient := &http.Client{
				Timeout: floodTimeout,
				// No gzip: the answers come back as they are, as most clients ask for them.
				Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true},
			}
			defer floodClient.CloseIdleConnections()
			var res floodResult
			var wg sync.WaitGroup
			begin := make(chan struct{})
			for i := range clients {
				wg.Go(func() {
					<-begin
					resp, err := floodClient.Post(s.HTTP, "application/json", bytes.NewReader(body))
					if err != nil {
						res.fail("request %d: %v", i, err)
						return
					}
					defer resp.Body.Close()
					answer, err := readAnswer(resp)
					switch {
					case err != nil:
						res.fail("request %d: reading the answer: %v", i, err)
					case resp.StatusCode == http.StatusOK:
						if err := fc.check(answer, pad, strconv.Itoa(floodID)); err != nil {
							res.fail("request %d: %v", i, err)
							return
						}
						res.ok.Add(1)
					case resp.StatusCode == http.StatusServiceUnavailable:
						if busy, id := isBusy(answer); resp.Header.Get("Retry-After") == "" || !busy || id != strconv.Itoa(floodID) {
							res.fail("request %d: 503 without Retry-After or -32005 with the request's id: %v %.200s", i, resp.Header, answer)
							return
						}
						res.busy.Add(1)
					default:
						res.fail("request %d: %s: %.200s", i, resp.Status, answer)
					}
				})
			}
			start := time.Now()
			close(begin)
			wg.Wait()
			elapsed := time.Since(start)
			p.finish(t)
			t.Logf("%d POSTs of %s (%s each): %d answered 200, %d refused 503, in %v",
				clients, fc.name, mib(int64(len(body))), res.ok.Load(), res.busy.Load(), elapsed.Round(time.Millisecond))
			res.report(t, clients)
			checkPeak(t, s, sampler, baseline)
		})
	}
}

// TestFloodWebSocket: 64 WebSocket connections send one 30 MiB frame each (under the 32 MiB
// read limit), all at once. Each gets its answer or -32005 with its request's id; a small call on another connection
// succeeds meanwhile; the server's peak RSS stays under 1 GiB.
func TestFloodWebSocket(t *testing.T) {
	needProc(t)
	const (
		conns = 64
		size  = 30 * miB
	)
	pad := padding(size)
	for _, fc := range floodCases {
		t.Run(fc.name, func(t *testing.T) {
			s := startServer(t)
			frame := wsFrame(fc.request(pad))
			wires := make([]*wsWire, conns)
			for i := range wires {
				wires[i] = dialWS(t, s.WS)
			}
			probe := dialWS(t, s.WS)
			baseline, err := rss(s.PID)
			if err != nil {
				t.Fatal(err)
			}
			sampler := sampleRSS(s.PID)

			p := startProber(func(i int) (bool, error) {
				req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"test_add","params":[%d,1]}`, i, i)
				if err := probe.Send([]byte(req)); err != nil {
					return false, err
				}
				answer, err := probe.Recv(probeDeadline)
				if err != nil {
					return false, err
				}
				if busy, id := isBusy(answer); busy && id == strconv.Itoa(i) {
					return true, nil
				}
				if want := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%d}`, i, i+1); string(answer) != want {
					return false, fmt.Errorf("answer %s, want %s", answer, want)
				}
				return false, nil
			})

			start := time.Now()
			res := sendFrames(wires, frame, func(answer []byte, id string) error { return fc.check(answer, pad, id) })
			elapsed := time.Since(start)
			p.finish(t)
			t.Logf("%d frames of %s (%s each): %d answered, %d refused -32005, in %v",
				conns, fc.name, mib(int64(len(frame))), res.ok.Load(), res.busy.Load(), elapsed.Round(time.Millisecond))
			res.report(t, conns)
			checkPeak(t, s, sampler, baseline)
		})
	}
}
