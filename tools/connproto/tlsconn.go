package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"syscall"
	"time"
)

// errWouldBlock is what nbConn.Read returns when the socket has no data. It is a
// temporary net.Error, which crypto/tls does not make sticky (conn.go:
// readRecordOrCCS), so a tls.Conn over an nbConn can be read until it would block
// and read again after the next readiness wait, with any partial record kept.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "connproto: read would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// nbConn is a TCP connection whose Read does not block once nonblock is set: it
// reads through syscall.RawConn and returns errWouldBlock on EAGAIN. Before that
// (the TLS handshake) it reads like a *net.TCPConn.
type nbConn struct {
	*net.TCPConn
	rc       syscall.RawConn
	nonblock bool // set by the owning goroutine after the handshake
}

func (c *nbConn) Read(p []byte) (int, error) {
	if !c.nonblock {
		return c.TCPConn.Read(p)
	}
	var (
		n     int
		errno error
	)
	err := c.rc.Read(func(fd uintptr) bool {
		n, errno = syscall.Read(int(fd), p)
		return true
	})
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, errWouldBlock
	case errno != nil:
		return 0, errno
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// selfSigned returns a server TLS config with a fresh ECDSA P-256 certificate for
// 127.0.0.1 and localhost (measurement and tests only).
func selfSigned() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "connproto"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}, nil
}
