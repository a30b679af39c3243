package main

import (
	"context"
	"strings"
	"testing"
)

// TestCallExitStatus runs polyrpc call in-process against a test HTTP server.
func TestCallExitStatus(t *testing.T) {
	hs := newTestHTTP(t)
	for _, tt := range []struct {
		args           []string
		status         int
		stdout, stderr string // parts
	}{
		{[]string{hs.URL, "test_add", "1", "2"}, 0, "3\n", ""},
		{[]string{hs.URL, "test_add", "[1,2]"}, 0, "3\n", ""},
		{[]string{hs.URL, "chat_send", "lobby", "ann", "hello there"}, 0, `"text": "hello there"`, ""},
		{[]string{hs.URL, "test_failCoded"}, 1, "", `{"code":-32042,"message":"coded failure","data":{"why":"testing"}}`},
		{[]string{hs.URL, "admin_peers"}, 1, "", `"code":-32601`},
		{[]string{hs.URL}, 2, "", "needs an endpoint and a method"},
		{[]string{"--timeout", "x", hs.URL, "m"}, 2, "", "invalid value"},
		{[]string{"http://127.0.0.1:1", "m"}, 2, "", "connect"},
		{[]string{"gopher://x", "m"}, 2, "", "no transport"},
	} {
		var out, errOut strings.Builder
		status := run(context.Background(), append([]string{"call"}, tt.args...), stdio{strings.NewReader(""), &out, &errOut})
		if status != tt.status || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
			t.Errorf("call %q: status %d, stdout %q, stderr %q", tt.args, status, out.String(), errOut.String())
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		status int
		out    string
	}{
		{[]string{"help"}, 0, "polyrpc attach"},
		{[]string{"help", "call"}, 0, "Exit status"},
		{[]string{"help", "serve"}, 0, "-http.port"},
		{[]string{"attach", "--help"}, 0, "Usage: polyrpc attach"},
		{[]string{"console", "-h"}, 0, "Usage: polyrpc console"},
		{[]string{"version"}, 0, "polyrpc "},
		{[]string{"help", "nope"}, 2, "unknown command"},
		{[]string{"nope"}, 2, "unknown command"},
	} {
		var out strings.Builder
		status := run(context.Background(), tt.args, stdio{strings.NewReader(""), &out, &out})
		if status != tt.status || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%q: status %d, output %q", tt.args, status, out.String())
		}
	}
}

// TestConsoleCommand runs polyrpc console on piped input.
func TestConsoleCommand(t *testing.T) {
	var out, errOut strings.Builder
	in := strings.NewReader("chat_send lobby ann hi\nchat_history lobby 1\nadmin_nodeInfo\ntest_add 1 2\n")
	status := run(context.Background(), []string{"console"}, stdio{in, &out, &errOut})
	if status != 0 {
		t.Fatalf("status %d, stderr %q", status, errOut.String())
	}
	for _, want := range []string{`"text": "hi"`, `"name": "polyrpc"`, "error -32601"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
