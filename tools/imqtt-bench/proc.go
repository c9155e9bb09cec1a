package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on every
// Linux architecture Go runs on; sysconf is not reachable without cgo).
const clockTicks = 100

// procSample is one reading of a process from /proc.
type procSample struct {
	at    time.Time
	cpu   float64 // utime+stime, seconds
	rss   int64   // VmRSS, bytes
	hwm   int64   // VmHWM (peak RSS), bytes
	valid bool
}

// sampleProc reads /proc/PID/stat and /proc/PID/status. pid 0 means "not sampled".
func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	if pid <= 0 {
		return s, nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// the command name may hold spaces: fields start after the last ')'
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("parse stat of pid %d: no ')'", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15
	if len(f) < 13 {
		return s, fmt.Errorf("parse stat of pid %d: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("parse stat of pid %d: utime %q stime %q", pid, f[11], f[12])
	}
	s.cpu = (ut + st) / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			s.rss = parseKB(v)
		case "VmHWM":
			s.hwm = parseKB(v)
		}
	}
	s.valid = true
	return s, nil
}

func parseKB(v string) int64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n << 10
}

// machineBusy returns the busy CPU time of the whole machine in seconds (all cores:
// user+nice+system+irq+softirq+steal from the first line of /proc/stat).
func machineBusy() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("parse /proc/stat: %q", line)
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/stat field %d: %w", i, err)
		}
		busy += v
	}
	return busy / clockTicks, nil
}
