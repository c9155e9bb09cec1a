package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// ErrConfig reports an invalid flag value; the message names the flag.
var ErrConfig = errors.New("invalid configuration")

// Config is one run's parameters (one scenario against one broker).
type Config struct {
	Broker      string        `json:"broker"`
	SubBroker   string        `json:"sub_broker,omitempty"` // subscribers' broker (another cluster node); "" = Broker
	Label       string        `json:"label"`
	Scenario    string        `json:"scenario"`
	QoS         byte          `json:"qos"`
	Version     byte          `json:"v"`
	Pubs        int           `json:"pubs"`
	Subs        int           `json:"subs"`
	Msgs        int           `json:"msgs,omitempty"`     // imstorm: messages waiting per receiver
	Receipts    int           `json:"receipts,omitempty"` // imchat: a read receipt every N deliveries
	Rate        float64       `json:"rate"`
	Size        int           `json:"size"`
	Inflight    int           `json:"inflight"`
	Duration    time.Duration `json:"-"`
	Warmup      time.Duration `json:"-"`
	Drain       time.Duration `json:"-"`
	Hold        time.Duration `json:"-"`
	Settle      time.Duration `json:"-"`
	Subscribe   bool          `json:"subscribe"`
	Concurrency int           `json:"-"`
	SrcIPs      int           `json:"-"`
	Keepalive   uint16        `json:"-"`
	TLS         bool          `json:"tls,omitempty"` // dial over TLS, certificate not verified (loopback measurement only)
	// Persistent makes subscribers ask for a persistent session (3.1.1 clean
	// session 0; MQTT 5 Session Expiry 3600 s), so a durable broker stores every
	// QoS 1 message for them before it acks the publisher.
	Persistent  bool          `json:"persistent"`
	Timeout     time.Duration `json:"-"`
	PID         int           `json:"-"`
	JSON        bool          `json:"-"`
	AllowRemote bool          `json:"-"`
	User        string        `json:"-"`
	Pass        string        `json:"-"`
	// JWTSecretFile is the broker's HS256 secret (auth.jwt.hmac_secret_file): the
	// IM scenarios sign a token for each of their users with it.
	JWTSecretFile string `json:"-"`
	// CPUProfile is where the tool writes its own CPU profile ("" = none).
	CPUProfile string    `json:"-"`
	Progress   io.Writer `json:"-"` // nil: no progress lines
}

// DefaultConfig returns the defaults of every flag.
func DefaultConfig() Config {
	return Config{
		Broker: "127.0.0.1:1883", Scenario: "fanin", Version: 4, Pubs: 10, Subs: 100, Msgs: 20,
		Size: 64, Inflight: 100, Duration: 10 * time.Second, Warmup: 2 * time.Second,
		Drain: 5 * time.Second, Hold: 5 * time.Second, Settle: 2 * time.Second,
		Concurrency: 64, SrcIPs: 8, Keepalive: 300, Timeout: 15 * time.Second,
	}
}

// parseFlags fills a Config from command-line arguments.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("imqtt-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var qos, v, keepalive uint
	fs.StringVar(&c.Broker, "broker", c.Broker, "broker `host:port` (loopback unless -allow-remote)")
	fs.StringVar(&c.SubBroker, "sub-broker", "", "fanin, fanout, pairs: subscribers connect to this `host:port` (another node of a cluster; default: -broker); the run waits 1 s for their routes to spread")
	fs.StringVar(&c.Label, "label", "", "broker name written into the results (default: the address)")
	fs.StringVar(&c.Scenario, "scenario", c.Scenario, "fanin | fanout | pairs | conns | imchat | imgroup | imstorm")
	fs.UintVar(&qos, "qos", 0, "QoS of publishes and subscriptions: 0 or 1 (imchat, imgroup: 1, the default there)")
	fs.UintVar(&v, "v", 4, "MQTT protocol version: 4 (3.1.1) or 5")
	fs.IntVar(&c.Pubs, "pubs", c.Pubs, "publishers (fanin), pairs (pairs, imchat), connections (conns) or senders (imgroup, imstorm)")
	fs.IntVar(&c.Subs, "subs", c.Subs, "subscribers (fanout), group members (imgroup) or receivers (imstorm; default 1000 there)")
	fs.IntVar(&c.Receipts, "receipts", 0, "imchat: each recipient publishes a read receipt (QoS 0, up to the seq just delivered) after every N-th message; senders also read their receipt events (0 = no receipts)")
	fs.IntVar(&c.Msgs, "msgs", c.Msgs, "imstorm: messages the senders leave waiting for each receiver before the storm")
	fs.Float64Var(&c.Rate, "rate", 0, "total offered msg/s (0 = flood: as fast as the broker accepts)")
	fs.IntVar(&c.Size, "size", c.Size, "payload bytes (at least 20: the timestamp header); imchat, imgroup: message body bytes (40..16384)")
	fs.IntVar(&c.Inflight, "inflight", c.Inflight, "unacknowledged QoS 1 publishes per publisher")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "measured window (imstorm: not used)")
	fs.DurationVar(&c.Warmup, "warmup", c.Warmup, "load before the measured window (imstorm: not used)")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "after the window, stop waiting for in-flight messages once none arrived for this long (at most 2m in all); imstorm: stop waiting for the backlog's acks once none arrived for this long")
	fs.DurationVar(&c.Hold, "hold", c.Hold, "conns: how long connections stay idle before the liveness check")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "conns: wait after the last connect before sampling broker RSS; imstorm: pause between the backlog and the storm")
	fs.BoolVar(&c.Subscribe, "subscribe", false, "conns: each connection subscribes to its own inbox topic")
	fs.BoolVar(&c.TLS, "tls", false, "dial the broker over TLS without verifying its certificate (measurement only)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "conns: connects in parallel; imstorm: dials in flight during the storm (default 200 there)")
	fs.IntVar(&c.SrcIPs, "src-ips", c.SrcIPs, "bind client sockets to 127.0.0.2.. (this many) to spread ephemeral ports; 0 = off")
	fs.UintVar(&keepalive, "keepalive", uint(c.Keepalive), "keepalive seconds sent in CONNECT")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "connect/subscribe timeout")
	fs.IntVar(&c.PID, "pid", 0, "broker PID: sample its CPU and RSS from /proc")
	fs.BoolVar(&c.JSON, "json", false, "also print one JSON line per run on stdout")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a non-loopback broker address")
	fs.BoolVar(&c.Persistent, "persistent", false, "subscribers use persistent sessions (the durable path of a persisting broker)")
	fs.StringVar(&c.User, "user", "", "username sent in CONNECT (default: anonymous)")
	fs.StringVar(&c.Pass, "pass", "", "password sent in CONNECT")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the tool's own CPU profile to this `file` (to tell the load generator's cost from the broker's)")
	fs.StringVar(&c.JWTSecretFile, "jwt-secret-file", "", "imchat, imgroup, imstorm: the broker's HS256 secret (auth.jwt.hmac_secret_file); each user connects with a token signed with it")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), ErrConfig)
	}
	if qos > 2 || v > 255 || keepalive > 65535 {
		return c, fmt.Errorf("-qos %d / -v %d / -keepalive %d out of range: %w", qos, v, keepalive, ErrConfig)
	}
	c.QoS, c.Version, c.Keepalive = byte(qos), byte(v), uint16(keepalive)
	if isIMScenario(c.Scenario) && !flagGiven(fs, "qos") {
		c.QoS = 1 // IM requests are QoS 1
	}
	if c.Scenario == "imstorm" {
		if !flagGiven(fs, "subs") {
			c.Subs = 1000
		}
		if !flagGiven(fs, "concurrency") {
			c.Concurrency = stormDials
		}
	}
	c.Progress = stderr
	return c, c.Validate()
}

// Validate checks every field; errors name the flag and its value.
func (c *Config) Validate() error {
	bad := func(flag string, v any, why string) error {
		return fmt.Errorf("-%s %v: %s: %w", flag, v, why, ErrConfig)
	}
	if c.SubBroker != "" {
		if _, _, err := net.SplitHostPort(c.SubBroker); err != nil {
			return bad("sub-broker", c.SubBroker, "want host:port")
		}
	}
	host, _, err := net.SplitHostPort(c.Broker)
	if err != nil {
		return bad("broker", c.Broker, "want host:port")
	}
	if !c.AllowRemote && !isLoopback(host) {
		return bad("broker", c.Broker, "not a loopback address (pass -allow-remote to measure a remote broker; latency is then meaningless)")
	}
	switch c.Scenario {
	case "fanin", "fanout", "pairs", "conns", "imchat", "imgroup", "imstorm":
	default:
		return bad("scenario", c.Scenario, "want fanin, fanout, pairs, conns, imchat, imgroup or imstorm")
	}
	if c.QoS > 1 {
		return bad("qos", c.QoS, "only 0 and 1 are supported")
	}
	if c.Version != 4 && c.Version != 5 {
		return bad("v", c.Version, "want 4 or 5")
	}
	const maxConns = 19900 // RLIMIT_NOFILE is 20,000 here
	if c.Pubs < 1 || c.Pubs > maxConns {
		return bad("pubs", c.Pubs, fmt.Sprintf("want 1..%d", maxConns))
	}
	if c.Subs < 1 || c.Subs > maxConns {
		return bad("subs", c.Subs, fmt.Sprintf("want 1..%d", maxConns))
	}
	if c.Scenario == "pairs" && 2*c.Pubs > maxConns {
		return bad("pubs", c.Pubs, "pairs need 2 connections each")
	}
	if c.Rate < 0 || c.Rate > 10e6 {
		return bad("rate", c.Rate, "want 0..10000000")
	}
	if c.Scenario == "pairs" && c.Rate == 0 {
		return bad("rate", c.Rate, "pairs run at a fixed rate")
	}
	if c.Size < headerLen || c.Size > 256<<10 {
		return bad("size", c.Size, fmt.Sprintf("want %d..262144", headerLen))
	}
	if err := c.validateIM(bad, maxConns); err != nil {
		return err
	}
	if c.Receipts < 0 || (c.Receipts > 0 && c.Scenario != "imchat") {
		return bad("receipts", c.Receipts, "want 0, or N > 0 with -scenario imchat")
	}
	if c.Inflight < 1 || c.Inflight > 65000 {
		return bad("inflight", c.Inflight, "want 1..65000")
	}
	for _, d := range []struct {
		name     string
		v        time.Duration
		min, max time.Duration
	}{
		{"duration", c.Duration, 100 * time.Millisecond, time.Hour},
		{"warmup", c.Warmup, 0, time.Hour},
		{"drain", c.Drain, 0, 10 * time.Minute},
		{"hold", c.Hold, 0, time.Hour},
		{"settle", c.Settle, 0, 10 * time.Minute},
		{"timeout", c.Timeout, 100 * time.Millisecond, 10 * time.Minute},
	} {
		if d.v < d.min || d.v > d.max {
			return bad(d.name, d.v, fmt.Sprintf("want %v..%v", d.min, d.max))
		}
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		return bad("concurrency", c.Concurrency, "want 1..1024")
	}
	if c.SrcIPs < 0 || c.SrcIPs > 250 {
		return bad("src-ips", c.SrcIPs, "want 0..250")
	}
	if c.PID < 0 {
		return bad("pid", c.PID, "want a process id")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// srcIP returns the local address for connection j, or nil to let the kernel pick.
func (c *Config) srcIP(j int) net.IP {
	host, _, _ := net.SplitHostPort(c.Broker)
	ip := net.ParseIP(host)
	if c.SrcIPs == 0 || ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil
	}
	return net.IPv4(127, 0, 0, byte(2+j%c.SrcIPs))
}

func (c *Config) dialOptions() dialOptions {
	return dialOptions{addr: c.Broker, version: c.Version, keepalive: c.Keepalive, user: c.User, pass: c.Pass, timeout: c.Timeout, tls: c.TLS}
}

func isIMScenario(s string) bool { return s == "imchat" || s == "imgroup" || s == "imstorm" }

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// validateIM checks what only the IM scenarios need.
func (c *Config) validateIM(bad func(string, any, string) error, maxConns int) error {
	if !isIMScenario(c.Scenario) {
		return nil
	}
	if c.JWTSecretFile == "" {
		return bad("jwt-secret-file", `""`, c.Scenario+" connects as many users: give the broker's HS256 secret")
	}
	if c.QoS != 1 {
		return bad("qos", c.QoS, c.Scenario+" sends IM requests at QoS 1")
	}
	if c.Size < imBodyHeaderLen || c.Size > maxIMBody {
		return bad("size", c.Size, fmt.Sprintf("%s: want %d..%d body bytes", c.Scenario, imBodyHeaderLen, maxIMBody))
	}
	switch {
	case c.Scenario == "imchat" && 2*c.Pubs > maxConns:
		return bad("pubs", c.Pubs, "imchat pairs need 2 connections each")
	case c.Scenario == "imgroup" && c.Pubs > c.Subs:
		return bad("pubs", c.Pubs, fmt.Sprintf("imgroup senders are members: want at most -subs %d", c.Subs))
	case c.Scenario == "imgroup" && c.Subs+c.Pubs+1 > maxConns:
		return bad("subs", c.Subs, fmt.Sprintf("imgroup needs -subs + -pubs + 1 connections, at most %d", maxConns))
	}
	if c.Scenario != "imstorm" {
		return nil
	}
	const maxStormMsgs = 10_000_000 // the send plan holds 4 bytes per message
	switch {
	case c.Subs+c.Pubs > maxConns:
		return bad("subs", c.Subs, fmt.Sprintf("imstorm needs -subs + -pubs connections, at most %d", maxConns))
	case c.Msgs < 1 || int64(c.Subs)*int64(c.Msgs) > maxStormMsgs:
		return bad("msgs", c.Msgs, fmt.Sprintf("want 1.. and -subs x -msgs at most %d", maxStormMsgs))
	case c.Rate != 0:
		return bad("rate", c.Rate, "imstorm sends its backlog as fast as acks come back (-inflight)")
	}
	return nil
}
