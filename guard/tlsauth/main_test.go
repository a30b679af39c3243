package tlsauth_test

import (
	"testing"

	"github.com/polyrpc/polyrpc/internal/leakcheck"
)

// TestMain fails the run when a test leaves a goroutine behind.
func TestMain(m *testing.M) { leakcheck.Main(m.Run) }
