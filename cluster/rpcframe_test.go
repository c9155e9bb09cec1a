package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

func TestRPCErrorRoundTrip(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{&NotLeaderError{LeaderID: "n2", LeaderAddr: "127.0.0.1:7947"}, ErrNotLeader},
		{ErrNoQuorum, ErrNoQuorum},
		{ErrClosed, ErrNoQuorum}, // the leader is going away: not this node
		{ErrTimeout, ErrTimeout},
		{ErrCommandTooLarge, ErrCommandTooLarge},
		{errors.New("something else"), ErrRemote},
	}
	for _, c := range cases {
		got := decodeRPCError(encodeRPCError(nil, c.err))
		if !errors.Is(got, c.want) {
			t.Errorf("%v decoded as %v, want %v", c.err, got, c.want)
		}
	}
	var nl *NotLeaderError
	if got := decodeRPCError(encodeRPCError(nil, cases[0].err)); !errors.As(got, &nl) || nl.LeaderAddr != "127.0.0.1:7947" {
		t.Fatalf("not leader: %v", got)
	}
}

func FuzzRPCFrames(f *testing.F) {
	f.Add(appendFrame(nil, encodeRPCError([]byte{1, rpcErr}, ErrNoQuorum)))
	f.Add(appendFrame(nil, encodeRPCError([]byte{1, rpcErr}, &NotLeaderError{LeaderID: "a", LeaderAddr: "b"})))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			body, err := readFrame(r)
			if err != nil {
				return
			}
			_ = decodeRPCError(body)
			_, rest, err := readStr(body)
			if err == nil && len(rest) > len(body) {
				t.Fatal("readStr grew the input")
			}
		}
	})
}
