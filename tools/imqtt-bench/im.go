package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// IM scenarios: the load goes through imqttd's IM layer (docs/protocol.md)
// instead of plain topics, so every message is checked, stamped, committed
// through raft and only then acked and fanned out.
//
//	imchat   -pubs N chat pairs: user b{i}s sends direct messages to user b{i}r
//	         (im/send/user/b{i}r); b{i}r reads im/u/b{i}r/msg, b{i}s reads its acks
//	         on im/u/b{i}s/ack
//	imgroup  one group of -subs M members g0..g{M-1}, built by g0 with rpc
//	         group.create and group.invite before anyone else connects; every
//	         member reads im/u/g{j}/msg; -pubs P senders (g0..g{P-1}, each on a
//	         second device that reads its acks) send to im/send/group/{id}
//
// imstorm, a reconnect + sync storm, is in imstorm.go.
//
// imchat and imgroup run at -rate msg/s in total (0: flood, each sender keeps -inflight
// requests unacknowledged). Every connection authenticates as its user with an
// HS256 JWT the tool signs (-jwt-secret-file, the broker's auth.jwt secret).

// jwtTTL is the lifetime of the tokens the tool signs.
const jwtTTL = time.Hour

// imTopology says who sends where and who receives what.
type imTopology struct {
	senders []string // user of sender connection i
	members []string // user of member (receiving) connection j
	// topic returns sender i's send topic; group is the group id (imgroup).
	topic   func(i int, group string) string
	targets func(i int) []int // member connections that receive sender i's messages
	group   bool              // build a group of members before connecting
}

func imTopologyOf(c *Config) imTopology {
	if c.Scenario == "imgroup" {
		t := imTopology{senders: make([]string, c.Pubs), members: make([]string, c.Subs), group: true}
		all := make([]int, c.Subs)
		for j := range t.members {
			t.members[j] = fmt.Sprintf("g%d", j)
			all[j] = j
		}
		copy(t.senders, t.members)
		t.topic = func(_ int, group string) string { return "im/send/group/" + group }
		t.targets = func(int) []int { return all }
		return t
	}
	t := imTopology{senders: make([]string, c.Pubs), members: make([]string, c.Pubs)}
	for i := range t.senders {
		t.senders[i] = fmt.Sprintf("b%ds", i)
		t.members[i] = fmt.Sprintf("b%dr", i)
	}
	t.topic = func(i int, _ string) string { return "im/send/user/" + t.members[i] }
	t.targets = func(i int) []int { return []int{i} }
	return t
}

// runIM runs imchat or imgroup and returns what it measured; ctx cancels the
// run early (the partial result is still returned).
func runIM(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Scenario == "imchat" {
		cfg.Subs = cfg.Pubs // a pair is one sender and one receiver: the report's s=
	}
	res := &Result{Tool: "imqtt-bench", Config: cfg}
	signer, err := loadJWTSigner(cfg.JWTSecretFile, jwtTTL)
	if err != nil {
		return res, err
	}
	r := &imRun{cfg: &cfg, clk: newClock(), stop: make(chan struct{}), topo: imTopologyOf(&cfg),
		runID: fmt.Sprintf("%08x", rand.Uint32()), signer: signer}
	return r.run(ctx, res)
}
