package natsbroker

import (
	"strings"
	"testing"
)

func TestToken(t *testing.T) {
	for _, tt := range []struct{ topic, token string }{
		{"lobby", "lobby"},
		{"a-b", "a-b"},
		{"", "_"},
		{"a.b", "a_2Eb"},
		{"x_y", "x_5Fy"},
		{"*>", "_2A_3E"},
		{"é", "_C3_A9"},
		{" ", "_20"},
	} {
		if got := token(tt.topic); got != tt.token {
			t.Errorf("token(%q) = %q, want %q", tt.topic, got, tt.token)
		}
		back, err := topicOf(tt.token)
		if err != nil || back != tt.topic {
			t.Errorf("topicOf(%q) = %q, %v; want %q", tt.token, back, err, tt.topic)
		}
	}
	for _, bad := range []string{"", "a.b", "_2", "_zz", "_41", "a b"} {
		if got, err := topicOf(bad); err == nil {
			t.Errorf("topicOf(%q) = %q, want an error", bad, got)
		}
	}
}

// FuzzToken: every topic gives one valid subject token that decodes back to it.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"lobby", "", "a.b", "_", "*", ">", "x y", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		tok := token(topic)
		if tok == "" || strings.ContainsAny(tok, ".*> \t\r\n") {
			t.Fatalf("token(%q) = %q: not one subject token", topic, tok)
		}
		back, err := topicOf(tok)
		if err != nil || back != topic {
			t.Fatalf("topicOf(token(%q)) = %q, %v", topic, back, err)
		}
	})
}
