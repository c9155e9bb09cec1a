package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// imInviteBatch is the most users one group.create or group.invite may name
// (docs/protocol.md "Methods").
const imInviteBatch = 256

// imRPCTimeout bounds one setup rpc: an invite of 256 users into a large group
// fans 256 notices out to every member, which takes a while.
const imRPCTimeout = 2 * time.Minute

// rpcRequest is the payload of the setup rpcs the tool sends.
type rpcRequest struct {
	RID     string   `json:"rid"`
	Name    string   `json:"name,omitempty"`
	Group   string   `json:"group,omitempty"`
	Users   []string `json:"users,omitempty"`
	ReplyTo string   `json:"reply_to"`
}

// rpcResponse is the part of an rpc response the tool reads.
type rpcResponse struct {
	Method string   `json:"method"`
	RID    string   `json:"rid"`
	OK     bool     `json:"ok"`
	Code   int      `json:"code"`
	Reason string   `json:"reason"`
	Group  string   `json:"group"`
	Added  []string `json:"added"`
}

// buildGroup has the first member create a group of all members
// (group.create with up to imInviteBatch users, then group.invite in chunks)
// on a setup connection of its own, closed before it returns. It returns the
// group id and the number of rpc calls.
func (r *imRun) buildGroup(ctx context.Context) (group string, calls int, err error) {
	owner, users := r.topo.members[0], r.topo.members[1:]
	cl, err := r.dialAs(0, owner, fmt.Sprintf("ib-%s-setup", r.runID))
	if err != nil {
		return "", 0, fmt.Errorf("connect %s: %w", owner, err)
	}
	defer cl.disconnect()
	// Responses go to reply_to; refusals found before the payload is read go to
	// im/u/{owner}/rpc: the filter takes both.
	if err := cl.subscribe("im/u/"+owner+"/rpc/#", 1, r.cfg.Timeout); err != nil {
		return "", 0, err
	}
	reply := "im/u/" + owner + "/rpc/" + r.runID
	chunk := func(n int) []string {
		n = min(n, len(users))
		c := users[:n]
		users = users[n:]
		return c
	}
	res, err := r.rpc(ctx, cl, "group.create", rpcRequest{RID: "0", Name: "bench " + r.runID, Users: chunk(imInviteBatch), ReplyTo: reply})
	if err != nil {
		return "", 1, err
	}
	group = res.Group
	if group == "" {
		return "", 1, fmt.Errorf("group.create answered without a group id: %w", ErrMalformed)
	}
	for calls = 1; len(users) > 0; calls++ {
		if _, err := r.rpc(ctx, cl, "group.invite", rpcRequest{RID: strconv.Itoa(calls), Group: group, Users: chunk(imInviteBatch), ReplyTo: reply}); err != nil {
			return "", calls + 1, fmt.Errorf("after %d members: %w", len(r.topo.members)-len(users), err)
		}
	}
	return group, calls, nil
}

// rpc publishes one request on cl (which has no reader goroutine) and waits for
// its response.
func (r *imRun) rpc(ctx context.Context, cl *client, method string, req rpcRequest) (rpcResponse, error) {
	var res rpcResponse
	body, err := json.Marshal(req)
	if err != nil {
		return res, fmt.Errorf("encode %s: %w", method, err)
	}
	deadline := time.Now().Add(imRPCTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = cl.c.SetDeadline(deadline)
	defer cl.c.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = cl.c.SetDeadline(time.Now()) })
	defer stop()
	id, _ := strconv.Atoi(req.RID)
	if err := cl.writePublish("im/rpc/"+method, 1, uint16(id%65535)+1, body); err != nil {
		return res, fmt.Errorf("send %s: %w", method, err)
	}
	if err := cl.flush(); err != nil {
		return res, fmt.Errorf("send %s: %w", method, err)
	}
	for {
		typ, flags, b, err := cl.read()
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, fmt.Errorf("wait for the %s response: %w", method, err)
		}
		if typ != ptPublish {
			continue // our PUBACK
		}
		p, err := decodePublish(cl.version, flags, b)
		if err != nil {
			return res, err
		}
		if p.QoS > 0 {
			_ = cl.writePuback(p.ID)
			_ = cl.flush()
		}
		res = rpcResponse{}
		if err := json.Unmarshal(p.Payload, &res); err != nil {
			return res, fmt.Errorf("%s response: %w: %w", method, ErrMalformed, err)
		}
		if res.Method != method || (res.RID != "" && res.RID != req.RID) {
			continue // an answer to something else
		}
		if !res.OK {
			hint := ""
			switch res.Code {
			case 0x96:
				hint = " (set im.rate_limit.messages_per_second: 0)"
			case 0x97:
				hint = " (raise im.group_max_members)"
			}
			return res, fmt.Errorf("%s: code %d %q%s: %w", method, res.Code, res.Reason, hint, ErrRefused)
		}
		return res, nil
	}
}
