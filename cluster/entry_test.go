package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestEntryRoundTrip(t *testing.T) {
	tests := [][][]byte{
		{[]byte("a")},
		{{}},
		{[]byte("a"), {}, []byte("ccc")},
		{bytes.Repeat([]byte("x"), 200), bytes.Repeat([]byte("y"), 70000)},
	}
	many := make([][]byte, 300)
	for i := range many {
		many[i] = []byte(fmt.Sprint(i))
	}
	tests = append(tests, many)
	for i, cmds := range tests {
		data := appendEntry(nil, cmds)
		if len(data) != entrySize(cmds) {
			t.Fatalf("case %d: encoded %d bytes, entrySize %d", i, len(data), entrySize(cmds))
		}
		got, err := decodeEntry(data, nil)
		if err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if len(got) != len(cmds) {
			t.Fatalf("case %d: %d commands, want %d", i, len(got), len(cmds))
		}
		for j := range cmds {
			if !bytes.Equal(got[j], cmds[j]) {
				t.Fatalf("case %d command %d: %q, want %q", i, j, got[j], cmds[j])
			}
		}
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", []byte{0x02, 1, 1, 'a'}},
		{"no count", []byte{entryVersion}},
		{"zero count", []byte{entryVersion, 0}},
		{"count above bytes", []byte{entryVersion, 3, 1, 'a'}},
		{"huge count", append([]byte{entryVersion}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{"overlong count varint", []byte{entryVersion, 0x81, 0x00, 1, 'a'}},
		{"truncated length", []byte{entryVersion, 1, 0x80}},
		{"length past end", []byte{entryVersion, 1, 5, 'a'}},
		{"trailing bytes", []byte{entryVersion, 1, 1, 'a', 'b'}},
		{"second command missing", []byte{entryVersion, 2, 1, 'a'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cmds, err := decodeEntry(tt.data, nil); !errors.Is(err, ErrBadEntry) {
				t.Fatalf("decodeEntry(%x) = %q, %v; want ErrBadEntry", tt.data, cmds, err)
			}
		})
	}
}

// FuzzDecodeEntry: no panic, no allocation beyond the input's size, and
// whatever decodes re-encodes to the same bytes (one encoding per entry).
func FuzzDecodeEntry(f *testing.F) {
	f.Add(appendEntry(nil, [][]byte{[]byte("a")}))
	f.Add(appendEntry(nil, [][]byte{[]byte("hello"), {}, []byte("world")}))
	f.Add(appendEntry(nil, [][]byte{bytes.Repeat([]byte{0xff}, 300)}))
	f.Add([]byte{})
	f.Add([]byte{entryVersion})
	f.Add([]byte{entryVersion, 0})
	f.Add([]byte{entryVersion, 0x81, 0x00, 1, 'a'})
	f.Add([]byte{entryVersion, 2, 1, 'a'})
	f.Add([]byte{entryVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x02, 1, 1, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		cmds, err := decodeEntry(data, nil)
		if err != nil {
			if !errors.Is(err, ErrBadEntry) {
				t.Fatalf("error %v does not wrap ErrBadEntry", err)
			}
			return
		}
		if len(cmds) == 0 || len(cmds) > len(data) {
			t.Fatalf("%d commands from %d bytes", len(cmds), len(data))
		}
		if again := appendEntry(nil, cmds); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, again)
		}
		// Decoding into reused scratch gives the same commands.
		scratch := make([][]byte, 0, 4)
		cmds2, err := decodeEntry(data, scratch)
		if err != nil || len(cmds2) != len(cmds) {
			t.Fatalf("second decode: %d commands, %v", len(cmds2), err)
		}
	})
}
