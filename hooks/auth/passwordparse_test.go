package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Well-formed bcrypt hashes (cost 4) used by parse tests; they are never
// compared, only parsed.
const (
	hashA = "$2a$04$abcdefghijklmnopqrstuuN3Xc0Bm3QeWgw4rCq5nMU2LbuuYd2fW"
	hashB = "$2b$04$ABCDEFGHIJKLMNOPQRSTUu0pVkDKv0GkQ6vZHhnH7C3wD3pI6Z7yW"
)

func TestParsePasswordFile(t *testing.T) {
	in := "# users\n\nalice:" + hashA + "\r\n  # indented comment\norg/bob:" + hashB + " \t\n"
	lines, index, err := parsePasswordFile("pw", []byte(in))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(lines) != 5 || len(index) != 2 {
		t.Fatalf("got %d lines, %d users; want 5, 2", len(lines), len(index))
	}
	if got := string(lines[index["alice"]].hash); got != hashA {
		t.Errorf("alice hash = %q", got)
	}
	if got := string(lines[index["org/bob"]].hash); got != hashB {
		t.Errorf("bob hash = %q (trailing blanks must be trimmed)", got)
	}
	want := "# users\n\nalice:" + hashA + "\n  # indented comment\norg/bob:" + hashB + "\n"
	if got := string(formatPasswordFile(lines)); got != want {
		t.Errorf("format:\n%q\nwant\n%q", got, want)
	}
}

func TestParsePasswordFileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		want error
	}{
		{"no colon", "# c\nalice\n", 2, ErrMalformedLine},
		{"empty user", ":" + hashA + "\n", 1, ErrInvalidUsername},
		{"wildcard user", "a+b:" + hashA + "\n", 1, ErrInvalidUsername},
		{"hash user", "\n\na#:" + hashA + "\n", 3, ErrInvalidUsername},
		{"leading space user", " alice:" + hashA + "\n", 1, ErrInvalidUsername},
		{"control user", "al\x01ice:" + hashA + "\n", 1, ErrInvalidUsername},
		{"plain text password", "alice:secret\n", 1, ErrUnsupportedHash},
		{"mosquitto sha512", "alice:$6$c2FsdA==$aGFzaA==\n", 1, ErrUnsupportedHash},
		{"empty hash", "alice:\n", 1, ErrUnsupportedHash},
		{"bad version", "alice:$2x$04$abcdefghijklmnopqrstuuN3Xc0Bm3QeWgw4rCq5nMU2LbuuYd2fW\n", 1, ErrUnsupportedHash},
		{"cost too low", "alice:$2a$03$abcdefghijklmnopqrstuuN3Xc0Bm3QeWgw4rCq5nMU2LbuuYd2fW\n", 1, ErrUnsupportedHash},
		{"cost too high", "alice:$2a$32$abcdefghijklmnopqrstuuN3Xc0Bm3QeWgw4rCq5nMU2LbuuYd2fW\n", 1, ErrUnsupportedHash},
		{"bad alphabet", "alice:$2a$04$abcdefghijklmnopqrstuuN3Xc0Bm3QeWgw4rCq5nMU2LbuuYd2f!\n", 1, ErrUnsupportedHash},
		{"hash too long", "alice:" + hashA + "x\n", 1, ErrUnsupportedHash},
		{"duplicate", "alice:" + hashA + "\nbob:" + hashB + "\nalice:" + hashB + "\n", 3, ErrDuplicateUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parsePasswordFile("/etc/imqtt/passwd", []byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err %T is not *ParseError", err)
			}
			if pe.File != "/etc/imqtt/passwd" || pe.Line != tt.line {
				t.Fatalf("error at %s:%d, want line %d", pe.File, pe.Line, tt.line)
			}
			if !strings.HasPrefix(err.Error(), "/etc/imqtt/passwd:") {
				t.Fatalf("error %q does not start with the file name", err)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "uN3Xc0Bm3Qe") {
				t.Fatalf("error %q echoes line content", err)
			}
		})
	}
}

func TestDuplicateErrorNamesFirstLine(t *testing.T) {
	_, _, err := parsePasswordFile("f", []byte("alice:"+hashA+"\n#\nalice:"+hashB+"\n"))
	if err == nil || !strings.Contains(err.Error(), "f:3:") || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want f:3 ... line 1", err)
	}
}

func FuzzParsePasswordFile(f *testing.F) {
	seeds := []string{
		"",
		"\n",
		"# only a comment",
		"alice:" + hashA + "\n",
		"alice:" + hashA + "\r\nbob:" + hashB,
		"# c\n\n  \nalice:" + hashA + "  \n#x\n",
		"alice\n",
		":" + hashA,
		"a+b:" + hashA,
		"alice:secret",
		"alice:" + hashA + "\nalice:" + hashB,
		"alice:$2y$31$abcdefghijklmnopqrstuuN3Xc0Bm3QeWgw4rCq5nMU2LbuuYd2fW",
		"\x00:\xff",
		"名前:" + hashB + "\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, index, err := parsePasswordFile("fuzz", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error %v is not a *ParseError with a line", err)
			}
			return
		}
		for u, i := range index {
			if lines[i].user != u {
				t.Fatalf("index[%q] = %d points at %q", u, i, lines[i].user)
			}
			if ValidateUsername(u) != nil || checkBcryptHash(string(lines[i].hash)) != nil {
				t.Fatalf("accepted invalid entry %q", u)
			}
		}
		// Round trip: formatting and parsing again gives the same set and
		// the same bytes.
		out := formatPasswordFile(lines)
		lines2, index2, err := parsePasswordFile("fuzz", out)
		if err != nil {
			t.Fatalf("reparse of formatted file: %v", err)
		}
		if len(index2) != len(index) || len(lines2) != len(lines) {
			t.Fatalf("round trip changed the set: %d/%d users, %d/%d lines", len(index2), len(index), len(lines2), len(lines))
		}
		for u, i := range index {
			if !bytes.Equal(lines2[index2[u]].hash, lines[i].hash) {
				t.Fatalf("round trip changed hash of %q", u)
			}
		}
		if out2 := formatPasswordFile(lines2); !bytes.Equal(out, out2) {
			t.Fatalf("format not stable:\n%q\n%q", out, out2)
		}
	})
}
