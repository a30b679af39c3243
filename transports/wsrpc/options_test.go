package wsrpc

import (
	"testing"
	"time"
)

func TestConnConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		got  connConfig
		want connConfig
	}{
		{"nil Options", (*Options)(nil).connConfig(),
			connConfig{defaultReadLimit, defaultPingInterval, defaultPongTimeout, defaultWriteTimeout}},
		{"nil DialOptions", (*DialOptions)(nil).connConfig(),
			connConfig{defaultReadLimit, defaultPingInterval, defaultPongTimeout, defaultWriteTimeout}},
		{"set", (&Options{ReadLimit: 10, PingInterval: time.Second, PongTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second}).connConfig(),
			connConfig{10, time.Second, 2 * time.Second, 3 * time.Second}},
		{"negative: no limit, no pings", (&DialOptions{ReadLimit: -1, PingInterval: -1}).connConfig(),
			connConfig{0, -1, defaultPongTimeout, defaultWriteTimeout}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}
