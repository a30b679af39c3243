//go:build windows

package ipc

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

func testPath(t testing.TB) string { return `\\.\pipe\polyrpc-test-` + rand.Text() }

func TestPipeNames(t *testing.T) {
	rpctest.CheckLeaks(t)
	tests := []struct {
		path string
		ok   bool
	}{
		{`\\.\pipe\polyrpc-name-` + rand.Text(), true},
		{`\\.\PIPE\polyrpc-Name-` + rand.Text(), true},
		{`\\.\pipe\`, false},
		{`\\.\pipe\a\b`, false},
		{`C:\polyrpc.ipc`, false},
		{`/tmp/polyrpc.ipc`, false},
		{`\\host\pipe\polyrpc`, false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ln, err := Listen(tt.path)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatal("Listen succeeded")
			}
			if !strings.Contains(err.Error(), `\\.\pipe\NAME`) {
				t.Fatalf("err = %v, want it to name the expected form", err)
			}
		})
	}
}

// TestPipeInUse: a second server cannot take a pipe name that one serves; the first keeps serving.
func TestPipeInUse(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	ep2, err := Serve(rpctest.NewServer(t, nil), ep.Path(), nil)
	if err == nil {
		ep2.Close()
		t.Fatal("a second Serve on the same pipe succeeded")
	}
	if !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("err = %v, want already in use", err)
	}
	var sum int
	if err := client(t, ep.Path()).Call(context.Background(), &sum, "test_add", 1, 2); err != nil || sum != 3 {
		t.Fatalf("first server: %d, %v", sum, err)
	}
}

// TestDialNotAPipe: a path that is not a pipe name is dialled as an AF_UNIX socket, and a
// missing one fails at once.
func TestDialNotAPipe(t *testing.T) {
	rpctest.CheckLeaks(t)
	start := time.Now()
	if c, err := Dial(context.Background(), `C:\polyrpc-missing.sock`); err == nil {
		c.Close()
		t.Fatal("Dial succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Dial took %v", d)
	}
}

// TestDialMissingPipe: dialling a pipe nobody serves fails by the context's deadline.
func TestDialMissingPipe(t *testing.T) {
	rpctest.CheckLeaks(t)
	for _, timeout := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			c, err := Dial(ctx, testPath(t))
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if d := time.Since(start); d > timeout+time.Second {
				t.Fatalf("Dial took %v with a %v deadline", d, timeout)
			}
		})
	}
}
