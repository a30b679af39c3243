package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestApplyMemoryLimit: without GOMEMLIMIT the server sets its default soft limit; with it,
// the limit the runtime took from the environment stays.
func TestApplyMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	for _, tt := range []struct {
		name, env string
		before    int64 // the runtime's limit before the call
		want      int64
	}{
		{"no GOMEMLIMIT", "", orig, defaultMemoryLimit},
		{"GOMEMLIMIT set", "3GiB", 3 << 30, 3 << 30},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env == "" {
				if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
					t.Cleanup(func() { os.Setenv("GOMEMLIMIT", v) })
				}
				os.Unsetenv("GOMEMLIMIT")
			} else {
				t.Setenv("GOMEMLIMIT", tt.env)
			}
			debug.SetMemoryLimit(tt.before) // as the runtime would have set it at start
			if got := applyMemoryLimit(); got != tt.want {
				t.Errorf("applyMemoryLimit() = %d, want %d", got, tt.want)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Errorf("the runtime's limit is %d, want %d", got, tt.want)
			}
		})
	}
}
