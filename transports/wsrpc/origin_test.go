package wsrpc

import "testing"

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in   string
		want originRule
		ok   bool
	}{
		{"http://localhost", originRule{"http", "localhost", ""}, true},
		{"HTTP://LocalHost:8080", originRule{"http", "localhost", "8080"}, true},
		{"localhost", originRule{"", "localhost", ""}, true},
		{"localhost:8080", originRule{"", "localhost", "8080"}, true},
		{"https://example.com/path?q#f", originRule{"https", "example.com", ""}, true},
		{"http://[::1]:3000", originRule{"http", "::1", "3000"}, true},
		{"[::1]", originRule{"", "::1", ""}, true},
		{"::1", originRule{"", "::1", ""}, true},
		{"http://", originRule{"http", "", ""}, true},
		{"null", originRule{"", "null", ""}, true},
		{"http://host:port", originRule{}, false},
		{"http://[::1", originRule{}, false},
		{"http://[::1]x", originRule{}, false},
		{"", originRule{}, false},
	}
	for _, tt := range tests {
		got, ok := parseOrigin(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseOrigin(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
