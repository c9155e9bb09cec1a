package proxyhdr

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// bufSize is the read buffer of Read: a v1 line (at most 107 bytes) fits, and at
// most this many bytes past the header are read.
const bufSize = 256

// Header is a parsed PROXY protocol header.
type Header struct {
	// Version is 1 (text) or 2 (binary).
	Version byte
	// Local is set for a v2 LOCAL command and a v1 "PROXY UNKNOWN" line: the
	// proxy's own connection (a health check), with no client address.
	Local bool
	// Source is the client's address (IPv4-mapped IPv6 unmapped to IPv4). It is
	// invalid when the header carries no IP address (Local, AF_UNIX): the
	// caller keeps the socket's peer address then.
	Source netip.AddrPort
	// Destination is the address the client connected to on the proxy (same
	// validity as Source).
	Destination netip.AddrPort
	// Size is the header's length in bytes on the wire.
	Size int
}

// SourceAddr returns Source as a *net.TCPAddr, or nil when Source is invalid.
func (h Header) SourceAddr() net.Addr {
	if !h.Source.IsValid() {
		return nil
	}
	return net.TCPAddrFromAddrPort(h.Source)
}

// Read reads one PROXY protocol header (v1 or v2) from c within timeout (0 or
// less: no deadline) and returns it with the bytes it read past it (nil when
// none; the caller must replay them before reading c further). Errors wrap
// ErrNoHeader (with the bytes read so far returned as rest, the stream is
// untouched otherwise), ErrMalformed or ErrTimeout, or are c's read error. Read
// sets c's read deadline and clears it before returning; it does not close c.
func Read(c net.Conn, timeout time.Duration) (Header, []byte, error) {
	if timeout > 0 {
		if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return Header{}, nil, err
		}
		defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	}
	cr := &countingReader{r: c}
	br := bufio.NewReaderSize(cr, bufSize)
	ph, err := proxyproto.Read(br)
	rest := buffered(br)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return Header{}, nil, fmt.Errorf("%w: %w", ErrTimeout, err)
		case errors.Is(err, proxyproto.ErrNoProxyProtocol):
			if cr.n == 0 && cr.err != nil && !errors.Is(cr.err, io.EOF) {
				return Header{}, nil, cr.err // nothing read: the socket failed
			}
			return Header{}, rest, fmt.Errorf("%w: %w", ErrNoHeader, err)
		case cr.err != nil && !errors.Is(cr.err, io.EOF) && !isParseError(err):
			return Header{}, nil, cr.err
		}
		return Header{}, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	h := Header{Version: ph.Version, Local: ph.Command.IsLocal(), Size: cr.n - len(rest)}
	if !h.Local {
		h.Source = addrPort(ph.SourceAddr)
		h.Destination = addrPort(ph.DestinationAddr)
		if h.Source.IsValid() != h.Destination.IsValid() {
			return Header{}, nil, fmt.Errorf("%w: source %v, destination %v", ErrMalformed, ph.SourceAddr, ph.DestinationAddr)
		}
	}
	return h, rest, nil
}

// isParseError reports whether err is one of go-proxyproto's own verdicts on
// the bytes (rather than a read error passed through).
func isParseError(err error) bool {
	for _, e := range []error{
		proxyproto.ErrCantReadVersion1Header, proxyproto.ErrVersion1HeaderTooLong,
		proxyproto.ErrLineMustEndWithCrlf, proxyproto.ErrCantReadProtocolVersionAndCommand,
		proxyproto.ErrCantReadAddressFamilyAndProtocol, proxyproto.ErrCantReadLength,
		proxyproto.ErrUnknownProxyProtocolVersion, proxyproto.ErrUnsupportedProtocolVersionAndCommand,
		proxyproto.ErrUnsupportedAddressFamilyAndProtocol, proxyproto.ErrInvalidLength,
		proxyproto.ErrInvalidAddress, proxyproto.ErrInvalidPortNumber,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// addrPort converts a TCP or UDP address of the header; anything else (a Unix
// socket name, nil) gives the invalid AddrPort.
func addrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch v := a.(type) {
	case *net.TCPAddr:
		ap = v.AddrPort()
	case *net.UDPAddr:
		ap = v.AddrPort()
	default:
		return netip.AddrPort{}
	}
	if !ap.Addr().IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// buffered copies what br holds past the header into a slice of its own (so the
// read buffer is not kept alive), nil when empty.
func buffered(br *bufio.Reader) []byte {
	n := br.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := br.Peek(n)
	return append([]byte(nil), b...)
}

// countingReader counts the bytes read from the connection and keeps its last
// error (to tell a read failure from a parse failure).
type countingReader struct {
	r   io.Reader
	n   int
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if err != nil {
		c.err = err
	}
	return n, err
}
