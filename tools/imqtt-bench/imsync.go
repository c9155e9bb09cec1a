package main

import (
	"encoding/json"
	"fmt"
	"math/bits"
)

// The sync side of imstorm: the rpc sync request and response
// (docs/protocol.md "Methods": sync) and one device's bookkeeping of the pages
// it got back.

// syncRequest is the payload of one rpc sync call. Since is never nil: a fresh
// device sends {} (conversations left out start at 0).
type syncRequest struct {
	RID     string            `json:"rid"`
	Since   map[string]uint64 `json:"since"`
	Limit   int               `json:"limit,omitempty"`
	ReplyTo string            `json:"reply_to"`
}

// syncEnvelope is the part of a message envelope in a sync page the tool reads.
type syncEnvelope struct {
	Seq  uint64 `json:"seq"`
	Conv string `json:"conv"`
	CID  string `json:"cid"`
	Body string `json:"body"`
}

// syncResponse is an rpc response as the tool reads it (any method: the
// caller matches method and rid).
type syncResponse struct {
	Method   string            `json:"method"`
	RID      string            `json:"rid"`
	OK       bool              `json:"ok"`
	Code     int               `json:"code"`
	Reason   string            `json:"reason"`
	Messages []syncEnvelope    `json:"messages"`
	Since    map[string]uint64 `json:"since"`
	More     bool              `json:"more"`
}

// parseSyncResponse decodes an rpc response payload.
func parseSyncResponse(p []byte) (syncResponse, error) {
	var r syncResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, fmt.Errorf("sync response: %w: %w", ErrJSON, err)
	}
	return r, nil
}

// syncPageLimit is the limit imstorm asks for: at most 200 messages (the
// server's default im.sync_page_max), fewer for large bodies so that a page
// (which the server cuts at 1 MiB of envelopes anyway) stays well inside the
// reader's maxPacket of 1 MiB. 512 bytes per envelope cover its other fields.
func syncPageLimit(bodySize int) int {
	return max(1, min(200, (768<<10)/(bodySize+512)))
}

// syncBook is one device's account of the sync pages it got: the cursor to
// send next and which of this run's messages came back, once or more.
type syncBook struct {
	since map[string]uint64  // conv -> position to ask from next
	seen  map[uint32]*bitmap // sender -> this run's seqs returned

	unique    int64 // this run's messages returned (each counted once)
	dups      int64 // one of this run's messages returned again
	foreign   int64 // messages of another run or client (not counted)
	corrupt   int64 // this run's cid with a body that does not match it
	regressed int64 // a cursor in a response below the one the device had
	pages     int   // responses booked
}

func newSyncBook() *syncBook {
	return &syncBook{since: map[string]uint64{}, seen: map[uint32]*bitmap{}}
}

// add books one ok page and reports whether it made progress: returned a
// message or moved a cursor (a page with more=true and no progress, again and
// again, is a server that never completes). Cursors only move forward: one the
// server moved back is counted in regressed and kept where it was.
func (b *syncBook) add(p *syncResponse, runID string) (progress bool) {
	b.pages++
	for i := range p.Messages {
		m := &p.Messages[i]
		progress = true
		pub, seq, ok := parseCID([]byte(m.CID), runID)
		if !ok {
			b.foreign++
			continue
		}
		_, bpub, bseq, ok := decodeIMBody([]byte(m.Body))
		if !ok || bpub != pub || bseq != seq {
			b.corrupt++
			continue
		}
		bm := b.seen[pub]
		if bm == nil {
			bm = new(bitmap)
			b.seen[pub] = bm
		}
		if bm.set(seq) {
			b.dups++
			continue
		}
		b.unique++
	}
	for conv, pos := range p.Since {
		old, had := b.since[conv]
		switch {
		case had && pos < old:
			b.regressed++
		case !had || pos > old:
			b.since[conv] = pos
			progress = true
		}
	}
	return progress
}

// stormMissing counts the acked sends that no sync page returned to their
// receiver. acked[i] holds sender i's acked seqs, targets[i][seq] the receiver
// (index into books) of sender i's message seq; a nil book (a device that never
// synced) misses everything sent to it. devices is the count of receivers that
// miss at least one message.
func stormMissing(acked []bitmap, targets [][]int32, books []*syncBook) (missing int64, devices int) {
	short := make([]bool, len(books))
	for i, a := range acked {
		for w, word := range a {
			for word != 0 {
				bit := uint64(bits.TrailingZeros64(word))
				word &= word - 1
				seq := uint64(w)*64 + bit
				if i >= len(targets) || seq >= uint64(len(targets[i])) {
					continue // not a send of this run's plan: cannot be expected
				}
				j := targets[i][seq]
				if b := books[j]; b == nil || !b.has(uint32(i), seq) {
					missing++
					if !short[j] {
						short[j] = true
						devices++
					}
				}
			}
		}
	}
	return missing, devices
}

// has reports whether message seq of sender pub came back.
func (b *syncBook) has(pub uint32, seq uint64) bool {
	bm := b.seen[pub]
	return bm != nil && bm.has(seq)
}
