package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
)

// The handshake that opens every connection on the cluster port when the
// cluster has a secret (Config.Secret / SecretFile / DataDir/cluster.secret):
//
//	dialler  -> acceptor  kind (1 byte) | nonce_c (32 random bytes)
//	acceptor -> dialler   nonce_s (32 random bytes) | mac_s (32)
//	dialler  -> acceptor  mac_c (32)
//
//	mac_s = HMAC-SHA256(secret, "imqtt-cluster-v1 server" | kind | nonce_c | nonce_s)
//	mac_c = HMAC-SHA256(secret, "imqtt-cluster-v1 client" | kind | nonce_s | nonce_c)
//
// The dialler checks mac_s before it sends anything but its nonce; the
// acceptor checks mac_c before it hands the connection to raft or a handler.
// Both compare in constant time. Fresh nonces on both sides make a recorded
// exchange useless on another connection, the role labels stop a node's
// answer from being reflected back to it as a dialler's proof, and the kind
// is bound into both proofs. The secret authenticates the peers, it does not
// encrypt or protect the bytes that follow: use TLS (Config.TLS) where the
// network is not trusted; with both, the handshake runs inside TLS.
//
// Without a secret (TLS alone authenticates) the dialler sends only the kind
// byte. Every node of a cluster must be configured alike.
const (
	handshakeLabel = "imqtt-cluster-v1"
	nonceLen       = 32
	macLen         = sha256.Size
)

// Reasons a handshake failed: the values of the side/reason counters
// (HandshakeStats) and of the reason field of the log line.
const (
	// ReasonBadProof: the peer's HMAC was wrong (another secret, or none).
	ReasonBadProof = "bad_proof"
	// ReasonTimeout: the peer did not finish within Config.HandshakeTimeout.
	ReasonTimeout = "timeout"
	// ReasonClosed: the peer closed the connection or sent a truncated message.
	ReasonClosed = "closed"
	// ReasonTLS: the TLS handshake failed (no or a foreign certificate).
	ReasonTLS = "tls"
	// ReasonIO: any other read or write error.
	ReasonIO = "io"
)

// handshakeReasons lists every reason, in a fixed order (counter indexes).
var handshakeReasons = [...]string{ReasonBadProof, ReasonTimeout, ReasonClosed, ReasonTLS, ReasonIO}

// HandshakeReasons returns every handshake failure reason.
func HandshakeReasons() []string { return append([]string(nil), handshakeReasons[:]...) }

// errBadProof is the failure of a peer's HMAC check.
var errBadProof = errors.New("cluster: peer's proof of the cluster secret is wrong")

// handshakeError is a failed handshake: the reason (one of the Reason
// constants) and the cause.
type handshakeError struct {
	reason string
	err    error
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("cluster handshake failed (%s): %v", e.reason, e.err)
}

func (e *handshakeError) Unwrap() error { return e.err }

// failed wraps err into a *handshakeError with its reason.
func failed(err error) error {
	var he *handshakeError
	if errors.As(err, &he) {
		return err
	}
	return &handshakeError{reason: reasonOf(err), err: err}
}

// reasonOf classifies a handshake error.
func reasonOf(err error) string {
	var he *handshakeError
	var ne net.Error
	switch {
	case errors.As(err, &he):
		return he.reason
	case errors.Is(err, errBadProof):
		return ReasonBadProof
	case errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ReasonClosed
	}
	return ReasonIO
}

// isBadProof reports whether err is a handshake whose peer proved a wrong
// secret: a permanent failure, not worth retrying.
func isBadProof(err error) bool {
	var he *handshakeError
	return errors.As(err, &he) && he.reason == ReasonBadProof
}

// handshakeMAC is HMAC-SHA256(secret, label " " role | kind | first | second).
func handshakeMAC(secret []byte, role string, kind byte, first, second []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(handshakeLabel + " " + role))
	m.Write([]byte{kind})
	m.Write(first)
	m.Write(second)
	return m.Sum(nil)
}

// dialHandshake runs the dialler's side on c: announce kind and prove the
// secret, after checking the acceptor's proof. The caller sets the deadline.
// Errors are *handshakeError.
func dialHandshake(c net.Conn, secret []byte, kind byte) error {
	if secret == nil {
		if _, err := c.Write([]byte{kind}); err != nil {
			return failed(err)
		}
		return nil
	}
	hello := make([]byte, 1+nonceLen)
	hello[0] = kind
	nonceC := hello[1:]
	if _, err := rand.Read(nonceC); err != nil {
		return failed(err)
	}
	if _, err := c.Write(hello); err != nil {
		return failed(err)
	}
	answer := make([]byte, nonceLen+macLen)
	if _, err := io.ReadFull(c, answer); err != nil {
		return failed(err)
	}
	nonceS, macS := answer[:nonceLen], answer[nonceLen:]
	if !hmac.Equal(macS, handshakeMAC(secret, "server", kind, nonceC, nonceS)) {
		return failed(errBadProof)
	}
	if _, err := c.Write(handshakeMAC(secret, "client", kind, nonceS, nonceC)); err != nil {
		return failed(err)
	}
	return nil
}

// acceptHandshake runs the acceptor's side on c and returns the kind the
// dialler announced, once it proved the secret. The caller sets the
// deadline. Errors are *handshakeError.
func acceptHandshake(c net.Conn, secret []byte) (byte, error) {
	if secret == nil {
		var kind [1]byte
		if _, err := io.ReadFull(c, kind[:]); err != nil {
			return 0, failed(err)
		}
		return kind[0], nil
	}
	hello := make([]byte, 1+nonceLen)
	if _, err := io.ReadFull(c, hello); err != nil {
		return 0, failed(err)
	}
	kind, nonceC := hello[0], hello[1:]
	answer := make([]byte, nonceLen, nonceLen+macLen)
	if _, err := rand.Read(answer); err != nil {
		return 0, failed(err)
	}
	nonceS := answer[:nonceLen]
	answer = append(answer, handshakeMAC(secret, "server", kind, nonceC, nonceS)...)
	if _, err := c.Write(answer); err != nil {
		return 0, failed(err)
	}
	macC := make([]byte, macLen)
	if _, err := io.ReadFull(c, macC); err != nil {
		return 0, failed(err)
	}
	if !hmac.Equal(macC, handshakeMAC(secret, "client", kind, nonceS, nonceC)) {
		return 0, failed(errBadProof)
	}
	return kind, nil
}
