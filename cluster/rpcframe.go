package cluster

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frames of the node-to-node RPC (forwarded writes and membership changes):
//
//	frame    = len uvarint, body (len bytes)
//	request  = op byte, id uvarint, payload
//	response = id uvarint, status byte, payload
//
// Request payloads: rpcApply the command; rpcJoin str(id) str(addr); rpcRemove
// str(id), where str = len uvarint, bytes. Response payloads: rpcOK for an
// apply the entry's log index (uvarint) then the encoded result (ResultCodec),
// empty otherwise; rpcErr code byte, then
// str(leader id) str(leader addr) for errNotLeaderCode, else str(message).
const (
	rpcApply  byte = 1
	rpcJoin   byte = 2
	rpcRemove byte = 3

	rpcOK  byte = 0
	rpcErr byte = 1

	// maxFrame bounds a frame: a command is at most maxBatchBytes.
	maxFrame = maxBatchBytes + 1024
)

// Error codes of an rpcErr response.
const (
	errNotLeaderCode byte = iota + 1
	errNoQuorumCode
	errTimeoutCode
	errClosedCode
	errTooLargeCode
	errInvalidCode
	errOtherCode
	errUnauthCode
)

// errBadFrame is returned for a frame that does not decode.
var errBadFrame = errors.New("cluster: malformed rpc frame")

// readFrame reads one frame body from r.
func readFrame(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > maxFrame {
		return nil, fmt.Errorf("%w: %d bytes", errBadFrame, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// appendFrame appends body as a frame to dst.
func appendFrame(dst, body []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// appendStr appends a length-prefixed string.
func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// readStr reads a length-prefixed string from b and returns the rest.
func readStr(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errBadFrame
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// encodeRPCError encodes err as an rpcErr payload.
func encodeRPCError(dst []byte, err error) []byte {
	var nl *NotLeaderError
	switch {
	case errors.As(err, &nl):
		dst = append(dst, errNotLeaderCode)
		dst = appendStr(dst, nl.LeaderID)
		return appendStr(dst, nl.LeaderAddr)
	case errors.Is(err, ErrNoQuorum):
		dst = append(dst, errNoQuorumCode)
	case errors.Is(err, ErrTimeout):
		dst = append(dst, errTimeoutCode)
	case errors.Is(err, ErrClosed):
		dst = append(dst, errClosedCode)
	case errors.Is(err, ErrCommandTooLarge):
		dst = append(dst, errTooLargeCode)
	case errors.Is(err, ErrInvalidConfig):
		dst = append(dst, errInvalidCode)
	case errors.Is(err, ErrPeerUnauthenticated):
		dst = append(dst, errUnauthCode)
	default:
		dst = append(dst, errOtherCode)
	}
	return appendStr(dst, err.Error())
}

// decodeRPCError turns an rpcErr payload back into an error that matches the
// same sentinel as the one the leader returned. ErrClosed of the remote node
// becomes ErrNoQuorum: this node is not closing, the leader is going away.
func decodeRPCError(b []byte) error {
	if len(b) == 0 {
		return errBadFrame
	}
	code, b := b[0], b[1:]
	if code == errNotLeaderCode {
		id, rest, err := readStr(b)
		if err != nil {
			return err
		}
		addr, _, err := readStr(rest)
		if err != nil {
			return err
		}
		return &NotLeaderError{LeaderID: id, LeaderAddr: addr}
	}
	msg, _, err := readStr(b)
	if err != nil {
		return err
	}
	var base error
	switch code {
	case errNoQuorumCode, errClosedCode:
		base = ErrNoQuorum
	case errTimeoutCode:
		base = ErrTimeout
	case errTooLargeCode:
		base = ErrCommandTooLarge
	case errInvalidCode:
		base = ErrInvalidConfig
	case errUnauthCode:
		base = ErrPeerUnauthenticated
	default:
		base = ErrRemote
	}
	return fmt.Errorf("%w: leader: %s", base, msg)
}
