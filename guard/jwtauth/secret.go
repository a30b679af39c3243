package jwtauth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Secret is the 32-byte key that signs and verifies tokens (HMAC-SHA256).
type Secret [32]byte

// ErrInvalidSecret is returned for a secret that is not 32 bytes in hexadecimal.
var ErrInvalidSecret = errors.New("jwtauth: invalid JWT secret: want 64 hexadecimal digits (32 bytes), optionally prefixed with 0x")

// ParseSecret reads a secret in go-ethereum's format: 64 hexadecimal digits, optionally
// prefixed with 0x, with whitespace around them (a trailing newline) ignored.
func ParseSecret(text []byte) (Secret, error) {
	var s Secret
	h := strings.TrimSpace(string(text))
	if len(h) >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
	}
	if len(h) != 2*len(s) {
		return s, ErrInvalidSecret
	}
	if _, err := hex.Decode(s[:], []byte(h)); err != nil {
		return Secret{}, ErrInvalidSecret
	}
	return s, nil
}

// ReadSecret reads the secret in the file at path (see [ParseSecret]).
func ReadSecret(path string) (Secret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, fmt.Errorf("jwtauth: %w", err)
	}
	s, err := ParseSecret(data)
	if err != nil {
		return s, fmt.Errorf("%w (in %s)", err, path)
	}
	return s, nil
}

// NewSecret returns a secret of 32 random bytes from crypto/rand.
func NewSecret() Secret {
	var s Secret
	rand.Read(s[:]) // never fails (crypto/rand's documentation)
	return s
}

// Hex returns the secret as go-ethereum writes it to its file: 0x and 64 hexadecimal digits.
func (s Secret) Hex() string { return "0x" + hex.EncodeToString(s[:]) }

// LoadOrCreateSecret reads the secret in the file at path or, when the file does not exist or
// is empty, makes a new one (see [NewSecret]) and writes it there (mode 0600, in geth's
// format), as go-ethereum does with --authrpc.jwtsecret; created reports that it did. An
// existing file that does not hold a secret is an error, not overwritten.
func LoadOrCreateSecret(path string) (s Secret, created bool, err error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil && len(strings.TrimSpace(string(data))) > 0:
		s, err = ParseSecret(data)
		if err != nil {
			return s, false, fmt.Errorf("%w (in %s)", err, path)
		}
		return s, false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return s, false, fmt.Errorf("jwtauth: %w", err)
	}
	s = NewSecret()
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL // never write through a file made meanwhile
	if err == nil {
		flags = os.O_WRONLY | os.O_TRUNC // the empty file that is there
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return Secret{}, false, fmt.Errorf("jwtauth: creating the JWT secret: %w", err)
	}
	if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		f.Close()
		return Secret{}, false, fmt.Errorf("jwtauth: creating the JWT secret: %w", err)
	}
	if _, err := f.WriteString(s.Hex()); err != nil {
		f.Close()
		return Secret{}, false, fmt.Errorf("jwtauth: creating the JWT secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return Secret{}, false, fmt.Errorf("jwtauth: creating the JWT secret: %w", err)
	}
	return s, true, nil
}
