package integration_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Measurements of the server process from /proc (Linux).

const (
	kiB = 1 << 10
	miB = 1 << 20
	giB = 1 << 30
)

// needProc skips the test where /proc is missing.
func needProc(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("this test measures the server through /proc/PID, which this system (%v) lacks", err)
	}
}

// procStatus returns the fields of /proc/PID/status given, in bytes (their values are in kB).
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make(map[string]int64, len(fields))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range fields {
			if name == want {
				num, _, _ := strings.Cut(strings.TrimSpace(val), " ")
				n, err := strconv.ParseInt(num, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("/proc/%d/status: %s: %v", pid, name, err)
				}
				out[name] = n * kiB
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, want := range fields {
		if _, ok := out[want]; !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, want)
		}
	}
	return out, nil
}

// rss returns the resident set size of the process.
func rss(pid int) (int64, error) {
	m, err := procStatus(pid, "VmRSS")
	return m["VmRSS"], err
}

// fdCount returns the number of open file descriptors of the process.
func fdCount(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// rssSampler polls the resident set size of a process every 20 ms until stopped, keeping the
// largest value; peak also reads the kernel's high-water mark (VmHWM), which catches what falls
// between two polls.
type rssSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	maxRSS  int64
	samples int
	err     error
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			v, err := rss(pid)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			s.maxRSS = max(s.maxRSS, v)
			s.samples++
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// peak stops the sampler and returns the largest RSS polled and the kernel's VmHWM.
func (s *rssSampler) peak() (polled, hwm int64, samples int, err error) {
	close(s.stop)
	<-s.done
	m, herr := procStatus(s.pid, "VmHWM")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.maxRSS, m["VmHWM"], s.samples, s.err
	}
	return s.maxRSS, m["VmHWM"], s.samples, herr
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/miB) }
