package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name string
		user string
		ok   bool
	}{
		{"plain", "alice", true},
		{"slash allowed", "org/alice", true},
		{"unicode", "名前", true},
		{"inner space", "alice smith", true},
		{"dollar", "$svc", true},
		{"max length", strings.Repeat("a", MaxUsernameLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", MaxUsernameLen+1), false},
		{"plus", "al+ce", false},
		{"hash", "alice#", false},
		{"colon", "alice:x", false},
		{"nul", "ali\x00ce", false},
		{"newline", "alice\n", false},
		{"tab inside", "al\tice", false},
		{"del", "al\x7fice", false},
		{"c1 control", "al\u0085ice", false},
		{"leading space", " alice", false},
		{"trailing space", "alice ", false},
		{"trailing nbsp", "alice\u00a0", false},
		{"invalid utf8", "al\xffice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUsername(tt.user)
			if tt.ok && err != nil {
				t.Fatalf("ValidateUsername(%q) = %v, want nil", tt.user, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidUsername) {
				t.Fatalf("ValidateUsername(%q) = %v, want ErrInvalidUsername", tt.user, err)
			}
		})
	}
}
