package natsbroker

import (
	"errors"
	"strings"
)

const hexDigits = "0123456789ABCDEF"

// token encodes a topic as one subject token: letters, digits and '-' stay, every other byte
// becomes '_' and two upper-case hex digits, and the empty topic is "_". A token never holds
// '.', '*', '>' or white space, and different topics give different tokens.
func token(topic string) string {
	if topic == "" {
		return "_"
	}
	plain := true
	for i := 0; i < len(topic); i++ {
		if !plainByte(topic[i]) {
			plain = false
			break
		}
	}
	if plain {
		return topic
	}
	var b strings.Builder
	b.Grow(len(topic) + 8)
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if plainByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func plainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}

var errToken = errors.New("natsbroker: not a topic token")

// topicOf decodes a token made by token.
func topicOf(tok string) (string, error) {
	if tok == "_" {
		return "", nil
	}
	if tok == "" {
		return "", errToken
	}
	out := make([]byte, 0, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case plainByte(c):
			out = append(out, c)
		case c == '_' && i+2 < len(tok):
			hi, lo := unhex(tok[i+1]), unhex(tok[i+2])
			if hi < 0 || lo < 0 {
				return "", errToken
			}
			d := byte(hi<<4 | lo)
			if plainByte(d) {
				return "", errToken // not how token writes it
			}
			out = append(out, d)
			i += 2
		default:
			return "", errToken
		}
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
