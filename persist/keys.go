package persist

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Key schema (DESIGN.md "Key schema" is the table). Every key starts with a
// one-letter prefix and '/'. Client ids are length-prefixed (2 bytes, big endian)
// wherever keys of one client are scanned by prefix, so that the prefix of client
// "a" never matches a key of client "ab", and ids may contain any byte ('/', NUL).
const (
	pfxSession      = "s/"  // s/{client}                         -> Session
	pfxSubscription = "b/"  // b/{len16 client}{filter}           -> Subscription
	pfxQueue        = "q/"  // q/{len16 client}{seq be64}         -> Message
	pfxQueueSeq     = "n/"  // n/{client}                         -> last seq (be64)
	pfxInflight     = "f/"  // f/{len16 client}{dir}{packetID be16} -> Inflight
	pfxRetained     = "r/"  // r/{topic}                          -> Message
	pfxSessionExp   = "e/"  // e/{deadline ms be64}{client}       -> empty
	pfxMeta         = "m/"  // m/{name}                           -> per key
	pfxBody         = "a/"  // a/{id be64}                        -> Message (shared body)
	pfxBodyRefs     = "t/c" // t/c{id be64}                      -> be64 reference count
	pfxStaged       = "t/s" // t/s{id be64}{client}              -> QueueRef (staged)
	pfxRetOwner     = "t/o" // t/o{topic}                        -> retained owner record
	pfxRetUsage     = "t/u" // t/u{owner}                        -> be64 count, be64 bytes
	pfxRetExpiring  = "t/x" // t/x{len16 owner}{topic}           -> be64 expiry ms
)

// Meta keys.
var (
	keyAppliedIndex  = []byte("m/applied_index")  // be64 raft index
	keyApplyProgress = []byte("m/apply_progress") // see applyProgress
	keySchema        = []byte("m/schema")         // schemaMagic + be32 version
	keyNodeID        = []byte("m/node_id")        // node id bytes
)

// rawPrefixLetters are the first bytes of keys reserved for the IM package (and
// other users of PutRaw/GetRaw/ScanRaw): a raw key is one of these letters, '/',
// then at least one byte. Persist's own letters (a, b, e, f, m, n, q, r, s, t) are
// excluded; a and t are kept free for persist.
const rawPrefixLetters = "cdghijklopuvwxyz"

// maxKeySize is Badger's key limit.
const maxKeySize = 65000

// IsRawKey reports whether key lies in the reserved IM range and may be used with
// PutRaw, DeleteRaw, IncrRaw and GetRaw: a raw letter, '/', at least one more byte.
func IsRawKey(key []byte) bool {
	return len(key) >= 3 && IsRawPrefix(key)
}

// IsRawPrefix reports whether prefix may be scanned with ScanRaw: a raw letter and
// '/', optionally followed by more bytes.
func IsRawPrefix(prefix []byte) bool {
	if len(prefix) < 2 || len(prefix) > maxKeySize || prefix[1] != '/' {
		return false
	}
	for i := 0; i < len(rawPrefixLetters); i++ {
		if prefix[0] == rawPrefixLetters[i] {
			return true
		}
	}
	return false
}

func checkClient(client string) error {
	if client == "" {
		return fmt.Errorf("%w: empty client id", ErrInvalidOp)
	}
	if len(client) > math.MaxUint16 {
		return fmt.Errorf("%w: client id of %d bytes", ErrInvalidOp, len(client))
	}
	return nil
}

// clientPrefix returns p + len16(client) + client: the exact scan prefix of one
// client's keys under p.
func clientPrefix(p, client string, extra int) []byte {
	k := make([]byte, 0, len(p)+2+len(client)+extra)
	k = append(k, p...)
	k = binary.BigEndian.AppendUint16(k, uint16(len(client)))
	return append(k, client...)
}

func sessionKey(client string) []byte {
	return append([]byte(pfxSession), client...)
}

func subscriptionKey(client, filter string) []byte {
	return append(clientPrefix(pfxSubscription, client, len(filter)), filter...)
}

func queueKey(client string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(clientPrefix(pfxQueue, client, 8), seq)
}

func queueSeqKey(client string) []byte {
	return append([]byte(pfxQueueSeq), client...)
}

func inflightKey(client string, dir InflightDir, packetID uint16) []byte {
	k := append(clientPrefix(pfxInflight, client, 3), byte(dir))
	return binary.BigEndian.AppendUint16(k, packetID)
}

func retainedKey(topic string) []byte {
	return append([]byte(pfxRetained), topic...)
}

func sessionExpKey(deadline int64, client string) []byte {
	k := make([]byte, 0, len(pfxSessionExp)+8+len(client))
	k = append(k, pfxSessionExp...)
	k = binary.BigEndian.AppendUint64(k, uint64(deadline))
	return append(k, client...)
}

// keyTooLong reports a key over Badger's limit as an invalid op.
func keyTooLong(k []byte, what string) error {
	if len(k) > maxKeySize {
		return fmt.Errorf("%w: %s key of %d bytes above %d", ErrInvalidOp, what, len(k), maxKeySize)
	}
	return nil
}

// seqFromQueueKey extracts the seq from a q/ key of a known client prefix length.
func seqFromQueueKey(k []byte) (uint64, bool) {
	if len(k) < len(pfxQueue)+2+8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(k)-8:]), true
}

// clientFromLenPrefixed splits p + len16(client) + client + rest.
func clientFromLenPrefixed(k []byte, p string) (client string, rest []byte, ok bool) {
	if len(k) < len(p)+2 {
		return "", nil, false
	}
	n := int(binary.BigEndian.Uint16(k[len(p):]))
	if len(k) < len(p)+2+n {
		return "", nil, false
	}
	return string(k[len(p)+2 : len(p)+2+n]), k[len(p)+2+n:], true
}

// prefixEnd returns the smallest key greater than every key with prefix p (for
// reverse iteration); nil if p is all 0xff.
func prefixEnd(p []byte) []byte {
	end := append([]byte{}, p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
