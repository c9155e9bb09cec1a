package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// report reads result JSON lines (from files, or in when none are given) and writes
// markdown tables of medians per case and broker, in first-seen order.
func report(files []string, in io.Reader, out io.Writer) error {
	var rs []Result
	read := func(r io.Reader, name string) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var res Result
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				return fmt.Errorf("%s:%d: %w", name, n, err)
			}
			rs = append(rs, res)
		}
		return sc.Err()
	}
	if len(files) == 0 {
		if err := read(in, "stdin"); err != nil {
			return err
		}
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		err = read(fh, f)
		fh.Close()
		if err != nil {
			return err
		}
	}
	type key struct{ cs, label string }
	var order []key
	groups := map[key][]Result{}
	for _, r := range rs {
		k := key{r.name(), r.Label}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	med := func(g []Result, f func(Result) float64) float64 {
		v := make([]float64, len(g))
		for i, r := range g {
			v[i] = f(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	var flows, storms, conns strings.Builder
	for _, k := range order {
		g := groups[k]
		m := func(f func(Result) float64) float64 { return med(g, f) }
		if g[0].Scenario == "conns" {
			fmt.Fprintf(&conns, "| %s | %s | %d | %.0f | %.0f | %.0f / %.0f | %.1f → %.1f | %.0f | %.1f | %.0f |\n",
				k.cs, k.label, len(g),
				m(func(r Result) float64 { return float64(r.Connected) }),
				m(func(r Result) float64 { return r.ConnectRate }),
				m(func(r Result) float64 { return r.Handshake.P50 }), m(func(r Result) float64 { return r.Handshake.P99 }),
				m(func(r Result) float64 { return mib(r.BrokerRSSBefore) }), m(func(r Result) float64 { return mib(r.BrokerRSSAfter) }),
				m(func(r Result) float64 { return r.BytesPerConn }),
				m(func(r Result) float64 { return r.BrokerCPUPerConn }),
				m(func(r Result) float64 { return float64(r.AliveAfterHold) }))
			continue
		}
		if g[0].Scenario == "imstorm" {
			ms := func(f func(Result) float64) float64 { return m(f) / 1000 }
			fmt.Fprintf(&storms, "| %s | %s | %d | %.0f | %.0f | %.1f / %.1f | %.0f | %.0f | %.0f | %.0f | %.0f / %.0f / %.0f / %.0f | %.0f | %.2f | %.1f | %.0f | %.0f |\n",
				k.cs, k.label, len(g),
				m(func(r Result) float64 { return float64(r.SyncedDevices) }),
				m(func(r Result) float64 { return r.ConnectRate }),
				ms(func(r Result) float64 { return r.Handshake.P50 }), ms(func(r Result) float64 { return r.Handshake.P99 }),
				m(func(r Result) float64 { return float64(r.Received) }),
				m(func(r Result) float64 { return r.DeliveredPerS }),
				m(func(r Result) float64 { return float64(r.Lost) }),
				m(func(r Result) float64 { return float64(r.Duplicates) }),
				ms(func(r Result) float64 { return r.Latency.P50 }), ms(func(r Result) float64 { return r.Latency.P90 }),
				ms(func(r Result) float64 { return r.Latency.P99 }), ms(func(r Result) float64 { return r.Latency.Max }),
				m(func(r Result) float64 { return r.BrokerCPUPct }),
				m(func(r Result) float64 { return r.BrokerCPUPerM }),
				m(func(r Result) float64 { return mib(r.BrokerRSSPeak) }),
				m(func(r Result) float64 { return r.ToolCPUPct }),
				m(func(r Result) float64 { return r.OtherCPUPct }))
			continue
		}
		fmt.Fprintf(&flows, "| %s | %s | %d | %.0f | %.3f | %.0f | %.0f / %.0f / %.0f | %.0f / %.0f | %.0f | %.2f | %.1f | %.0f | %.0f |\n",
			k.cs, k.label, len(g),
			m(func(r Result) float64 { return r.DeliveredPerS }),
			m(func(r Result) float64 { return r.LossPct }),
			m(func(r Result) float64 { return float64(r.AckedLost) }),
			m(func(r Result) float64 { return r.Latency.P50 }), m(func(r Result) float64 { return r.Latency.P99 }),
			m(func(r Result) float64 { return r.Latency.P999 }),
			m(func(r Result) float64 { return r.AckLatency.P50 }), m(func(r Result) float64 { return r.AckLatency.P99 }),
			m(func(r Result) float64 { return r.BrokerCPUPct }),
			m(func(r Result) float64 { return r.BrokerCPUPerM }),
			m(func(r Result) float64 { return mib(r.BrokerRSSPeak) }),
			m(func(r Result) float64 { return r.ToolCPUPct }),
			m(func(r Result) float64 { return r.OtherCPUPct }))
	}
	if flows.Len() > 0 {
		fmt.Fprintln(out, "| case | broker | runs | delivered msg/s | loss % | acked lost | lat p50 / p99 / p999 us | ack p50 / p99 us | broker CPU % | broker CPU s per 1M msgs | broker RSS peak MiB | tool CPU % | other CPU % |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		fmt.Fprint(out, flows.String())
	}
	if storms.Len() > 0 {
		if flows.Len() > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, "| case | broker | runs | devices synced | reconnect/s | connack p50 / p99 ms | synced msgs | synced msg/s | missing | dups | to synced p50 / p90 / p99 / max ms | broker CPU % | broker CPU s per 1M msgs | broker RSS peak MiB | tool CPU % | other CPU % |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		fmt.Fprint(out, storms.String())
	}
	if conns.Len() > 0 {
		if flows.Len() > 0 || storms.Len() > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, "| case | broker | runs | connected | conn/s | handshake p50 / p99 us | broker RSS before → after MiB | bytes/conn | broker CPU us/conn | alive after hold |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|")
		fmt.Fprint(out, conns.String())
	}
	return nil
}
