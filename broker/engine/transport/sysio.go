package transport

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// errWouldBlock is what the non-blocking reads return when the socket has no data
// (EAGAIN). It is a temporary net.Error: crypto/tls does not make such read errors
// sticky, so a tls.Conn over a non-blocking socket can be read until it would
// block and read again after the next readiness wait (tls_test.go pins this).
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "transport: read would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// maxIov bounds the iovecs of one writev (IOV_MAX is 1024 on Linux).
const maxIov = 1024

// readNB reads into p without blocking: errWouldBlock when the socket has no
// data, io.EOF when the peer closed. The poller's read lock and deadline apply
// (an expired read deadline returns os.ErrDeadlineExceeded).
func readNB(rc syscall.RawConn, p []byte) (int, error) {
	var (
		n     int
		errno error
	)
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), p)
			if errno != syscall.EINTR {
				return true
			}
		}
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

// writevNB writes bufs with one writev(2) without blocking and returns the bytes
// written; a full socket buffer is (0 or a short count, nil).
func writevNB(rc syscall.RawConn, bufs [][]byte) (int, error) {
	vs := bufs[:min(len(bufs), maxIov)]
	if len(vs) == 0 {
		return 0, nil
	}
	var (
		n    int
		werr error
	)
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Writev(int(fd), vs)
			if werr != unix.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case werr == unix.EAGAIN:
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return n, nil
}

// waitReadable parks the calling goroutine in the netpoller until fd has data, EOF
// or an error, or the read deadline passes, or the socket is closed. The check is
// a 1-byte MSG_PEEK into the stack: no buffer is held while waiting, and data that
// arrived before RawConn.Read reset the readiness flag is not missed.
func waitReadable(rc syscall.RawConn) error {
	return rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN
	})
}
