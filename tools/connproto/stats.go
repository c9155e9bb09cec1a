package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// bufSize is the size of a pooled read (and write) buffer.
const bufSize = 4096

// stats holds the counters and buffer pools of one server.
type stats struct {
	conns        atomic.Int64 // open connections
	bufsOut      atomic.Int64 // pooled buffers taken and not yet returned
	partials     atomic.Int64 // clients holding an incomplete packet
	pings        atomic.Int64 // PINGREQs answered
	connectStack int          // bytes of stack a CONNECT uses (authenticate)

	readBufs  sync.Pool // *[]byte of bufSize
	writeBufs sync.Pool // *bytes.Buffer
}

func newStats(connectStack int) *stats {
	s := &stats{connectStack: connectStack}
	s.readBufs.New = func() any { b := make([]byte, bufSize); return &b }
	s.writeBufs.New = func() any { return bytes.NewBuffer(make([]byte, 0, bufSize)) }
	return s
}

func (s *stats) getRead() *[]byte {
	s.bufsOut.Add(1)
	return s.readBufs.Get().(*[]byte)
}

func (s *stats) putRead(b *[]byte) {
	s.readBufs.Put(b)
	s.bufsOut.Add(-1)
}

func (s *stats) getWrite() *bytes.Buffer {
	s.bufsOut.Add(1)
	return s.writeBufs.Get().(*bytes.Buffer)
}

func (s *stats) putWrite(b *bytes.Buffer) {
	if b.Cap() <= 4*bufSize { // do not pool a buffer an odd packet grew
		b.Reset()
		s.writeBufs.Put(b)
	}
	s.bufsOut.Add(-1)
}

// Snapshot is what -stats reports.
type Snapshot struct {
	Model      string `json:"model"`
	TLS        bool   `json:"tls"`
	RSSKB      int64  `json:"rss_kb"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Sys        uint64 `json:"sys"`
	Goroutines int    `json:"goroutines"`
	Conns      int64  `json:"conns"`
	BufsOut    int64  `json:"bufs_out"`
	Partials   int64  `json:"partials"`
	Pings      int64  `json:"pings"`
}

// snapshot forces two GCs (the second one shrinks stacks the first one marked) and
// returns memory to the OS before reading the figures.
func (s *stats) snapshot(model string, tls bool) Snapshot {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Snapshot{
		Model: model, TLS: tls,
		RSSKB:      rssKB(),
		HeapInuse:  ms.HeapInuse,
		StackInuse: ms.StackInuse,
		Sys:        ms.Sys,
		Goroutines: runtime.NumGoroutine(),
		Conns:      s.conns.Load(),
		BufsOut:    s.bufsOut.Load(),
		Partials:   s.partials.Load(),
		Pings:      s.pings.Load(),
	}
}

func (sn Snapshot) String() string {
	b, _ := json.Marshal(sn)
	return string(b)
}

// rssKB reads VmRSS from /proc/self/status (-1 if unavailable).
func rssKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
