package jwtauth_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/guard/jwtauth"
)

const hex64 = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"plain", hex64, true},
		{"0x prefix", "0x" + hex64, true},
		{"0X prefix and upper case", "0X" + strings.ToUpper(hex64), true},
		{"whitespace around", " \t0x" + hex64 + "\r\n", true},
		{"short", hex64[:62], false},
		{"long", hex64 + "00", false},
		{"not hex", "zz" + hex64[2:], false},
		{"empty", "", false},
		{"inner space", hex64[:32] + " " + hex64[32:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jwtauth.ParseSecret([]byte(tt.text))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && s.Hex() != "0x"+hex64 {
				t.Fatalf("secret %s, want 0x%s", s.Hex(), hex64)
			}
			if !tt.ok && !errors.Is(err, jwtauth.ErrInvalidSecret) {
				t.Fatalf("err = %v, want ErrInvalidSecret", err)
			}
		})
	}
}

// FuzzParseSecret: any input parses to a secret whose hex form parses back to it, or fails
// with ErrInvalidSecret.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{hex64, "0x" + hex64, " 0x" + hex64 + "\n", "0x", "", "0xg"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := jwtauth.ParseSecret(data)
		if err != nil {
			if !errors.Is(err, jwtauth.ErrInvalidSecret) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		back, err := jwtauth.ParseSecret([]byte(s.Hex()))
		if err != nil || back != s {
			t.Fatalf("%s does not parse back: %v", s.Hex(), err)
		}
	})
}

// TestLoadOrCreateSecret: a missing file is created (0600, geth's format) and read back the
// next time; an empty file is filled; a file that holds no secret is refused, untouched.
func TestLoadOrCreateSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jwtsecret")
	s, created, err := jwtauth.LoadOrCreateSecret(path)
	if err != nil || !created {
		t.Fatalf("created %v, err %v; want a new secret", created, err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != s.Hex() || len(data) != 66 {
		t.Fatalf("file holds %q (%v), want %s", data, err, s.Hex())
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := jwtauth.LoadOrCreateSecret(path)
	if err != nil || created || again != s {
		t.Fatalf("second load: created %v, err %v, same %v; want the file's secret", created, err, again == s)
	}
	if s == jwtauth.NewSecret() {
		t.Fatal("two secrets are equal")
	}

	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o644)
	if s, created, err := jwtauth.LoadOrCreateSecret(empty); err != nil || !created {
		t.Fatalf("empty file: created %v, err %v", created, err)
	} else if got, err := jwtauth.ReadSecret(empty); err != nil || got != s {
		t.Fatalf("empty file filled with %v, %v", got, err)
	}

	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a secret"), 0o600)
	if _, _, err := jwtauth.LoadOrCreateSecret(bad); !errors.Is(err, jwtauth.ErrInvalidSecret) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad file: err = %v, want ErrInvalidSecret naming the file", err)
	}
	if data, _ := os.ReadFile(bad); string(data) != "not a secret" {
		t.Fatalf("bad file overwritten: %q", data)
	}
	if _, _, err := jwtauth.LoadOrCreateSecret(filepath.Join(dir, "no", "such", "dir")); err == nil {
		t.Fatal("a path in a missing directory: no error")
	}
}
