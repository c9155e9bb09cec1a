package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Latency is a latency summary in microseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	N    uint64  `json:"n"`
}

func latencyOf(h *hist) Latency {
	us := func(ns int64) float64 { return float64(ns/100) / 10 }
	return Latency{P50: us(h.quantile(.5)), P90: us(h.quantile(.9)), P99: us(h.quantile(.99)),
		P999: us(h.quantile(.999)), Max: us(h.max), N: h.n}
}

// Result is what one run measured; it is printed as one JSON line.
type Result struct {
	Tool   string `json:"tool"`
	Case   string `json:"case,omitempty"` // set by compare.sh
	Rep    int    `json:"rep,omitempty"`  // set by compare.sh
	Config `json:"config"`
	Window float64 `json:"window_s"`
	DrainS float64 `json:"drain_s,omitempty"` // time spent waiting for stragglers after the window

	// message flows
	Sent          int64   `json:"sent,omitempty"`
	Acked         int64   `json:"acked,omitempty"`
	Expected      int64   `json:"expected,omitempty"`
	Received      int64   `json:"received,omitempty"`
	Duplicates    int64   `json:"duplicates,omitempty"`
	Lost          int64   `json:"lost"`
	LossPct       float64 `json:"loss_pct"`
	AckedLost     int64   `json:"acked_lost"`
	SentPerS      float64 `json:"sent_per_s,omitempty"`
	DeliveredPerS float64 `json:"delivered_per_s,omitempty"`
	Latency       Latency `json:"latency_us"`
	// AckLatency is PUBLISH -> PUBACK at the publishers (QoS 1; zero for QoS 0).
	AckLatency Latency `json:"ack_latency_us"`

	// conns
	Connected        int     `json:"connected,omitempty"`
	Failed           int     `json:"failed,omitempty"`
	ConnectRate      float64 `json:"connect_rate_per_s,omitempty"`
	Handshake        Latency `json:"handshake_us"`
	BytesPerConn     float64 `json:"broker_bytes_per_conn,omitempty"`
	BrokerCPUPerConn float64 `json:"broker_cpu_us_per_conn,omitempty"`
	AliveAfterHold   int     `json:"alive_after_hold,omitempty"`

	// imstorm (doc.go): Connected, Failed, ConnectRate and Handshake above are
	// the storm's reconnects; these are its syncs and its backlog.
	SyncedDevices int     `json:"synced_devices,omitempty"` // devices whose sync ended with more: false
	SyncRPCs      int64   `json:"sync_rpcs,omitempty"`      // sync responses (pages) received
	SendS         float64 `json:"send_s,omitempty"`         // the backlog's send phase, seconds

	// imchat -receipts: read receipts the recipients published and receipt
	// events their senders received.
	ReceiptsSent     int64 `json:"receipts_sent,omitempty"`
	ReceiptsReceived int64 `json:"receipts_received,omitempty"`

	// broker process (with -pid)
	BrokerCPUS      float64 `json:"broker_cpu_s,omitempty"`
	BrokerCPUPct    float64 `json:"broker_cpu_pct,omitempty"`
	BrokerCPUPerM   float64 `json:"broker_cpu_s_per_M_delivered,omitempty"`
	BrokerRSSBefore int64   `json:"broker_rss_before,omitempty"`
	BrokerRSSAfter  int64   `json:"broker_rss_after,omitempty"`
	BrokerRSSPeak   int64   `json:"broker_rss_peak,omitempty"`
	ToolCPUPct      float64 `json:"tool_cpu_pct"`
	// OtherCPUPct is the machine's busy CPU (in % of one core) during the measured
	// window that was neither the broker nor this tool: a neighbour's load.
	OtherCPUPct float64 `json:"other_cpu_pct"`

	Errors []string `json:"errors,omitempty"`
}

func (r *Result) addError(err error) {
	if len(r.Errors) < 10 {
		r.Errors = append(r.Errors, err.Error())
	}
}

// name is the short description of the case used in tables.
func (r *Result) name() string {
	c := r.Config
	if c.Scenario == "conns" {
		return fmt.Sprintf("conns n=%d sub=%v v%d", c.Pubs, c.Subscribe, c.Version)
	}
	if c.Scenario == "imstorm" {
		return fmt.Sprintf("imstorm n=%d p=%d k=%d %dB v%d", c.Subs, c.Pubs, c.Msgs, c.Size, c.Version)
	}
	rate := "max"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%.0f/s", c.Rate)
	}
	p, s := c.Pubs, c.Subs
	switch c.Scenario {
	case "fanin":
		s = 1
	case "fanout":
		p = 1
	case "pairs":
		s = c.Pubs
	}
	name := fmt.Sprintf("%s qos%d p=%d s=%d rate=%s %dB v%d", c.Scenario, c.QoS, p, s, rate, c.Size, c.Version)
	if c.Receipts > 0 {
		name += fmt.Sprintf(" receipts=1/%d", c.Receipts)
	}
	return name
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// writeHuman prints the run as a small table.
func (r *Result) writeHuman(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s against %s (%s)\n", r.name(), r.Label, r.Broker)
	row := func(k string, f string, a ...any) { fmt.Fprintf(&b, "  %-28s "+f+"\n", append([]any{k}, a...)...) }
	switch r.Scenario {
	case "imstorm":
		r.writeStorm(row)
	case "conns":
		row("connected / failed", "%d / %d", r.Connected, r.Failed)
		row("connect rate", "%.0f conn/s", r.ConnectRate)
		row("handshake p50 / p99", "%.0f / %.0f us", r.Handshake.P50, r.Handshake.P99)
		row("alive after hold", "%d", r.AliveAfterHold)
		if r.BrokerRSSAfter > 0 {
			row("broker RSS before -> after", "%.1f -> %.1f MiB", mib(r.BrokerRSSBefore), mib(r.BrokerRSSAfter))
			row("broker bytes per conn", "%.0f", r.BytesPerConn)
			row("broker CPU per conn", "%.1f us", r.BrokerCPUPerConn)
		}
	default:
		row("window / drain", "%.1f s / %.1f s", r.Window, r.DrainS)
		row("sent / acked", "%d / %d", r.Sent, r.Acked)
		row("expected / received", "%d / %d (dups %d)", r.Expected, r.Received, r.Duplicates)
		row("lost (acked lost)", "%d = %.3f %% (%d)", r.Lost, r.LossPct, r.AckedLost)
		row("sent msg/s", "%.0f", r.SentPerS)
		row("delivered msg/s", "%.0f", r.DeliveredPerS)
		row("latency p50/p90/p99/p999/max", "%.0f / %.0f / %.0f / %.0f / %.0f us", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
		if r.Config.Receipts > 0 {
			row("receipts sent / received", "%d / %d", r.ReceiptsSent, r.ReceiptsReceived)
		}
		if r.Config.QoS > 0 {
			row("ack latency p50/p99/max", "%.0f / %.0f / %.0f us", r.AckLatency.P50, r.AckLatency.P99, r.AckLatency.Max)
		}
		if r.BrokerRSSPeak > 0 {
			row("broker CPU", "%.0f %% (%.2f s per 1M delivered)", r.BrokerCPUPct, r.BrokerCPUPerM)
			row("broker RSS before / peak", "%.1f / %.1f MiB", mib(r.BrokerRSSBefore), mib(r.BrokerRSSPeak))
		}
	}
	row("tool CPU / other CPU", "%.0f %% / %.0f %%", r.ToolCPUPct, r.OtherCPUPct)
	for _, e := range r.Errors {
		row("error", "%s", e)
	}
	io.WriteString(w, b.String())
}

// writeJSON prints the run as one JSON line.
func (r *Result) writeJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeStorm prints the imstorm rows of the human table.
func (r *Result) writeStorm(row func(k, f string, a ...any)) {
	ms := func(us float64) float64 { return us / 1000 }
	row("backlog sent / acked", "%d / %d in %.1f s (%.0f msg/s)", r.Sent, r.Acked, r.SendS, r.SentPerS)
	row("ack latency p50/p99/max", "%.1f / %.1f / %.1f ms", ms(r.AckLatency.P50), ms(r.AckLatency.P99), ms(r.AckLatency.Max))
	row("storm", "%.2f s", r.Window)
	row("reconnected / failed", "%d / %d", r.Connected, r.Failed)
	row("reconnect rate", "%.0f CONNACK/s", r.ConnectRate)
	row("connack p50/p99/max", "%.1f / %.1f / %.1f ms", ms(r.Handshake.P50), ms(r.Handshake.P99), ms(r.Handshake.Max))
	row("devices synced", "%d of %d (%d sync pages)", r.SyncedDevices, r.Subs, r.SyncRPCs)
	row("expected / synced", "%d / %d (dups %d)", r.Expected, r.Received, r.Duplicates)
	row("missing", "%d = %.3f %%", r.Lost, r.LossPct)
	row("synced msg/s", "%.0f", r.DeliveredPerS)
	row("to synced p50/p90/p99/max", "%.0f / %.0f / %.0f / %.0f ms", ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.Max))
	if r.BrokerRSSPeak > 0 {
		row("broker CPU", "%.0f %% (%.2f s per 1M synced)", r.BrokerCPUPct, r.BrokerCPUPerM)
		row("broker RSS before / peak", "%.1f / %.1f MiB", mib(r.BrokerRSSBefore), mib(r.BrokerRSSPeak))
	}
}
