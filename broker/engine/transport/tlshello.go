package transport

import (
	"encoding/binary"
	"io"
)

// Why the ClientHello is re-cut: a tls.Conn keeps for its whole life the two
// buffers its handshake grew (it never shrinks them): rawInput, which holds
// one record at a time and which crypto/tls grows to the record's size plus
// 512 bytes, and hand, which holds one handshake message. Go's own client
// (and every client offering an X25519MLKEM768 key share) sends a ~1.5 KB
// ClientHello in one record: 2 KiB of rawInput and 1.5 KiB of hand, held by
// every idle connection. A handshake message may be fragmented across
// records (RFC 8446 5.1, RFC 5246 6.2.1; crypto/tls reassembles them), and
// the ClientHello record is plaintext, so the layer re-cuts it into records
// of at most helloFrag bytes and hands crypto/tls one record per Read:
// rawInput stays at its first allocation (a 517-byte Grow: 576 bytes), and
// the first two fragments are a quarter (or an eighth, ...) of the record
// each, so that hand, which doubles when it grows, ends at the size one
// write of the whole message would give it (the record-length fields are not
// part of the handshake transcript: the keys do not change). Later records
// are encrypted or small and are passed through.

// helloFrag is the largest fragment: a record of helloFrag+5 bytes fits the
// 512 bytes that bytes.Buffer.ReadFrom offers each Read, so crypto/tls reads
// a whole fragment without growing rawInput.
const helloFrag = 512 - recordHeader

// recordHeader is a TLS record header: type, version (2 bytes), length (2).
const recordHeader = 5

// Plaintext record limits (RFC 8446 5.1).
const (
	recordTypeHandshake = 22
	maxPlaintext        = 16384
)

// tlsHello is the handshake's read state of a tlsLayer.
type tlsHello struct {
	pre []byte // bytes read past a PROXY header (the start of the ClientHello)
	// hello is the client's first record re-cut into fragment records,
	// returned one record per read; rec is what is left of the current one.
	hello []byte
	rec   int
	split bool // splitHello ran
}

// read returns the next handshake bytes held in memory (0 when none are
// left), running splitHello on sock on the first call. Handshake only: the
// first Read of a tlsLayer is the handshake's.
func (h *tlsHello) read(sock io.Reader, p []byte) int {
	if !h.split {
		h.split = true
		h.splitHello(sock)
	}
	if len(h.hello) > 0 {
		if h.rec == 0 {
			h.rec = recordHeader + int(binary.BigEndian.Uint16(h.hello[3:]))
		}
		n := copy(p[:min(len(p), h.rec)], h.hello)
		h.rec -= n
		if h.hello = h.hello[n:]; len(h.hello) == 0 {
			h.hello = nil
		}
		return n
	}
	n := copy(p, h.pre)
	if h.pre = h.pre[n:]; len(h.pre) == 0 {
		h.pre = nil
	}
	return n
}

// splitHello reads the client's first record from pre and then sock
// (blocking, under the connect deadline) and, when it is a plaintext
// handshake record, stores it in hello re-cut into fragment records.
// Anything else (another record type, an oversized length, a read error) is
// put back in front of pre unchanged: crypto/tls then reads the same bytes,
// and the same error from the socket, as it would have without this step.
func (h *tlsHello) splitHello(sock io.Reader) {
	src := io.MultiReader(&preReader{h}, sock)
	var hdr [recordHeader]byte
	if n, err := io.ReadFull(src, hdr[:]); err != nil {
		h.unread(hdr[:n])
		return
	}
	size := int(binary.BigEndian.Uint16(hdr[3:]))
	if hdr[0] != recordTypeHandshake || size == 0 || size > maxPlaintext {
		h.unread(hdr[:])
		return
	}
	plan := helloPlan(size)
	// One allocation: the body is read to the tail, then each fragment is
	// moved to its place behind its header, front to back (a fragment's
	// destination never passes the source of the ones after it).
	out := make([]byte, len(plan)*recordHeader+size)
	body := out[len(plan)*recordHeader:]
	if n, err := io.ReadFull(src, body); err != nil {
		h.unread(append(hdr[:], body[:n]...))
		return
	}
	at, from := 0, len(plan)*recordHeader
	for _, f := range plan {
		copy(out[at:], hdr[:3])
		binary.BigEndian.PutUint16(out[at+3:], uint16(f))
		copy(out[at+recordHeader:], out[from:from+f])
		at += recordHeader + f
		from += f
	}
	h.hello = out
}

// helloPlan returns the fragment sizes for a handshake record of size bytes:
// one fragment if it fits helloFrag; else two of size/k (k = 4, 8, ...: the
// smallest that fits helloFrag) and the rest in helloFrag pieces. The first
// write makes hand a size class of about size/k, each write that overflows
// doubles it, so it ends near the class of size itself (checked against
// bytes.Buffer and Go's size classes for every size from 400 to 16,384: the
// same capacity as one write, or one class more for ~13 % of sizes, all
// above 2.5 KB; rawInput saves more than that).
func helloPlan(size int) []int {
	if size <= helloFrag {
		return []int{size}
	}
	k := 4
	for (size+k-1)/k > helloFrag {
		k *= 2
	}
	f0 := (size + k - 1) / k
	plan := []int{f0, f0}
	for left := size - 2*f0; left > 0; {
		f := min(left, helloFrag)
		plan = append(plan, f)
		left -= f
	}
	return plan
}

// unread puts b back in front of pre.
func (h *tlsHello) unread(b []byte) {
	if len(b) > 0 {
		h.pre = append(append([]byte(nil), b...), h.pre...)
	}
}

// preReader reads what is left of pre (then io.EOF).
type preReader struct{ h *tlsHello }

func (r *preReader) Read(p []byte) (int, error) {
	if len(r.h.pre) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.h.pre)
	if r.h.pre = r.h.pre[n:]; len(r.h.pre) == 0 {
		r.h.pre = nil
	}
	return n, nil
}
