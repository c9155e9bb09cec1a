package listen

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"
)

const (
	// maxAnswering bounds the refused sockets being answered with a CONNACK at
	// once; past it a refused socket is closed without an answer, as before.
	maxAnswering = 64
	// answerTimeout bounds reading the CONNECT of a refused socket (or
	// ConnectTimeout, if shorter).
	answerTimeout = 2 * time.Second
)

// answerer tells clients of plain TCP listeners why the Guard refused them: it
// reads the start of the CONNECT (fixed header, protocol name and level; no
// more), writes a CONNACK with the refusal and closes gracefully. Only tcp
// listeners answer: on tls and wss the answer would need the TLS handshake, and
// on ws the HTTP upgrade, which is the work a connection limit exists to save.
// The Guard owns it; each answer runs on its own goroutine, at most
// maxAnswering at once, each bounded by answerTimeout + CloseLinger, and
// Guard.Close closes the sockets still being answered and waits for them.
type answerer struct {
	mu     sync.Mutex
	conns  map[*net.TCPConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// refusalCode is the MQTT 5 CONNACK reason for a Guard refusal (MQTT 5.0
// 3.2.2.2): 0x9F Connection rate exceeded, 0x97 Quota exceeded (the address's
// sockets), 0x89 Server busy (the broker's). MQTT 3.1 and 3.1.1 clients get
// return code 3, Server unavailable (3.1.1 3.2.2.3).
func refusalCode(reason string) (byte, bool) {
	switch reason {
	case ReasonPerIPRate:
		return 0x9F, true
	case ReasonPerIPConnections:
		return 0x97, true
	case ReasonMaxConnections:
		return 0x89, true
	}
	return 0, false
}

// answer starts answering tc, refused for reason, and reports whether it
// took tc (else the caller closes it).
// pre is what was read from tc already (past a PROXY header), read first.
func (a *answerer) answer(tc *net.TCPConn, pre []byte, reason string, timeout time.Duration) bool {
	code, ok := refusalCode(reason)
	if !ok {
		return false
	}
	a.mu.Lock()
	if a.closed || len(a.conns) >= maxAnswering {
		a.mu.Unlock()
		return false
	}
	if a.conns == nil {
		a.conns = make(map[*net.TCPConn]struct{})
	}
	a.conns[tc] = struct{}{}
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		answerConnack(tc, pre, code, min(timeout, answerTimeout))
		a.mu.Lock()
		delete(a.conns, tc)
		a.mu.Unlock()
	}()
	return true
}

// close closes the sockets being answered and waits for their goroutines.
// Later refusals are closed without an answer. Idempotent.
func (a *answerer) close() {
	a.mu.Lock()
	a.closed = true
	for tc := range a.conns {
		_ = tc.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// answerConnack reads the protocol level from tc's CONNECT (pre first) within timeout,
// writes the refusal CONNACK for it, half-closes, drains what the client still
// sends for up to CloseLinger (so the CONNACK is not destroyed by a reset) and
// closes tc. Anything that is not the start of an MQTT CONNECT is closed
// without an answer.
func answerConnack(tc *net.TCPConn, pre []byte, code byte, timeout time.Duration) {
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(timeout))
	level, ok := readConnectLevel(bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pre), tc), 64))
	if !ok {
		return
	}
	connack := []byte{0x20, 0x02, 0x00, 0x03} // 3.1 / 3.1.1: return code 3
	if level == 5 {
		connack = []byte{0x20, 0x03, 0x00, code, 0x00} // no properties
	}
	if _, err := tc.Write(connack); err != nil {
		return
	}
	_ = tc.CloseWrite()
	_ = tc.SetReadDeadline(time.Now().Add(CloseLinger))
	_, _ = io.Copy(io.Discard, io.LimitReader(tc, maxRemainingLen))
}

// readConnectLevel reads a CONNECT's fixed header, protocol name and protocol
// level from r, and nothing after: 0x10, a remaining length of 1 to 4 bytes,
// then "MQTT" (levels 4, 5) or "MQIsdp" (level 3).
func readConnectLevel(r *bufio.Reader) (byte, bool) {
	if b, err := r.ReadByte(); err != nil || b != 0x10 {
		return 0, false
	}
	for i := 0; ; i++ { // remaining length: the value is not needed
		b, err := r.ReadByte()
		if err != nil || i == 3 && b&0x80 != 0 {
			return 0, false
		}
		if b&0x80 == 0 {
			break
		}
	}
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return 0, false
	}
	name := make([]byte, binary.BigEndian.Uint16(n[:]))
	if len(name) != 4 && len(name) != 6 {
		return 0, false
	}
	if _, err := io.ReadFull(r, name); err != nil {
		return 0, false
	}
	level, err := r.ReadByte()
	if err != nil {
		return 0, false
	}
	switch {
	case string(name) == "MQTT" && (level == 4 || level == 5), string(name) == "MQIsdp" && level == 3:
		return level, true
	}
	return 0, false
}
