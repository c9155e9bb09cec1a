package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
)

// ResultCodec turns a StateMachine's non-error results into bytes and back,
// so a follower can return the leader's result for a forwarded command. A
// StateMachine that implements it can be written through any node
// (ApplyForward); without it a forwarded command's result is nil.
type ResultCodec interface {
	EncodeResult(res any) ([]byte, error)
	DecodeResult(b []byte) (any, error)
}

// forwardRetry is the pause before retrying a forward after a leader change.
const forwardRetry = 20 * time.Millisecond

// ApplyForward is Apply from any node: on a follower the command is sent to the
// leader over the node-to-node link and the leader's result is returned once
// this node has applied the entry as well (read your writes: what the caller
// reads from the local state machine next includes it). A
// forward the leader refused because it no longer leads (nothing proposed) is
// retried with the new leader until Config.ApplyTimeout; every other error is
// returned as for Apply, plus ErrForward when the link broke with the command
// sent (outcome unknown) and ErrRemote for a command the leader's state
// machine refused.
func (n *Node) ApplyForward(ctx context.Context, cmd []byte) (any, error) {
	deadline := time.Now().Add(n.cfg.ApplyTimeout)
	for {
		res, err := n.Apply(ctx, cmd)
		var nl *NotLeaderError
		if !errors.As(err, &nl) || nl.LeaderAddr == "" {
			return res, err
		}
		fctx, cancel := context.WithDeadline(ctx, deadline)
		b, err := n.fwd.call(fctx, nl.LeaderAddr, rpcApply, cmd)
		if err == nil {
			// Read your writes: answer once this node applied the entry too,
			// so what the caller does next here sees it.
			idx, k := binary.Uvarint(b)
			if k <= 0 {
				cancel()
				return nil, fmt.Errorf("%w: leader answer without an index", errBadFrame)
			}
			b = b[k:]
			if werr := n.fsm.waitApplied(fctx, idx, n.done); werr != nil {
				cancel()
				return nil, fmt.Errorf("%w: entry %d committed but not applied here: %v", ErrTimeout, idx, werr)
			}
			cancel()
			if n.codec == nil {
				return nil, nil
			}
			v, err := n.codec.DecodeResult(b)
			if e, ok := v.(error); ok && err == nil {
				return nil, e // the leader's state machine refused the command
			}
			return v, err
		}
		cancel()
		retry := errors.As(err, &nl) || errors.Is(err, errNotSent)
		if !retry || time.Now().Add(forwardRetry).After(deadline) {
			if errors.Is(err, errNotSent) {
				return nil, fmt.Errorf("%w: %v", ErrNoQuorum, err)
			}
			return nil, err
		}
		select {
		case <-time.After(forwardRetry):
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.done:
			return nil, ErrClosed
		}
	}
}

// JoinForward is Join from any node (the leader runs it).
func (n *Node) JoinForward(ctx context.Context, id, addr string) error {
	return n.memberForward(ctx, func() error { return n.Join(ctx, id, addr) },
		rpcJoin, appendStr(appendStr(nil, id), addr))
}

// RemoveForward is Remove from any node (the leader runs it).
func (n *Node) RemoveForward(ctx context.Context, id string) error {
	return n.memberForward(ctx, func() error { return n.Remove(ctx, id) }, rpcRemove, appendStr(nil, id))
}

func (n *Node) memberForward(ctx context.Context, local func() error, op byte, payload []byte) error {
	deadline := time.Now().Add(n.cfg.ApplyTimeout)
	for {
		err := local()
		var nl *NotLeaderError
		if errors.Is(err, ErrNoQuorum) && time.Now().Before(deadline) {
			// No leader yet: wait for one.
			_ = n.awaitLeadership(ctx, time.After(time.Until(deadline)))
			continue
		}
		if !errors.As(err, &nl) || nl.LeaderAddr == "" {
			return err
		}
		fctx, cancel := context.WithDeadline(ctx, deadline)
		_, err = n.fwd.call(fctx, nl.LeaderAddr, op, payload)
		cancel()
		if (errors.As(err, &nl) || errors.Is(err, errNotSent)) && time.Now().Add(forwardRetry).Before(deadline) {
			time.Sleep(forwardRetry)
			continue
		}
		return err
	}
}

// JoinVia asks the cluster members at addrs (any member: its cluster port),
// in turn, to add this node as a voter, until one accepts or ctx ends. Used
// for Config.Join (`imqttd serve --join`). The leader probes this node back
// (Join) before adding it. It gives up at once with an error wrapping
// ErrPeerUnauthenticated when a member proves another secret, or the leader
// could not authenticate this node.
func (n *Node) JoinVia(ctx context.Context, addrs ...string) error {
	if len(addrs) == 0 {
		return fmt.Errorf("%w: join: no address", ErrInvalidConfig)
	}
	payload := appendStr(appendStr(nil, n.cfg.NodeID), n.Addr())
	for i := 0; ; i++ {
		addr := addrs[i%len(addrs)]
		_, err := n.fwd.call(ctx, addr, rpcJoin, payload)
		if err == nil {
			n.log.Info().Str(logfield.Addr, addr).Msg("joined the cluster")
			return nil
		}
		if isBadProof(err) || errors.Is(err, ErrPeerUnauthenticated) && !errors.Is(err, errNotSent) {
			// A member with another secret, or the leader could not
			// authenticate this node: retrying does not help.
			return fmt.Errorf("join via %s: %w", addr, err)
		}
		n.log.Warn().Err(err).Str(logfield.Addr, addr).Msg("join request failed, retrying")
		select {
		case <-ctx.Done():
			return fmt.Errorf("join via %v: %w (last error: %v)", addrs, ctx.Err(), err)
		case <-n.done:
			return ErrClosed
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// IsMember reports whether this node is in the cluster configuration it knows.
func (n *Node) IsMember() bool {
	for _, s := range n.Status().Servers {
		if s.ID == n.cfg.NodeID {
			return true
		}
	}
	return false
}

// serveRPC serves one inbound RPC connection: requests are answered
// concurrently (so forwarded writes batch on the leader like local ones), the
// answers written by one writer in arrival order of completion.
func (n *Node) serveRPC(c net.Conn) {
	out := make(chan []byte, 256)
	var wg sync.WaitGroup
	writerDone := make(chan struct{})
	go func() { // owned here: ends when out is closed
		defer close(writerDone)
		w := bufio.NewWriterSize(c, 64<<10)
		for b := range out {
			_, _ = w.Write(b)
			if len(out) == 0 {
				if err := w.Flush(); err != nil {
					_ = c.Close()
				}
			}
		}
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		body, err := readFrame(r)
		if err != nil {
			break
		}
		if len(body) < 2 {
			break
		}
		op := body[0]
		id, k := binary.Uvarint(body[1:])
		if k <= 0 {
			break
		}
		payload := body[1+k:]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := binary.AppendUvarint(nil, id)
			res, err := n.handleRPC(op, payload)
			if err != nil {
				resp = encodeRPCError(append(resp, rpcErr), err)
			} else {
				resp = append(append(resp, rpcOK), res...)
			}
			out <- appendFrame(nil, resp)
		}()
	}
	wg.Wait()
	close(out)
	<-writerDone
}

// isNodeError reports whether err comes from the node (not a result the state
// machine returned as an error).
func isNodeError(err error) bool {
	for _, e := range []error{ErrNotLeader, ErrNoQuorum, ErrTimeout, ErrClosed, ErrCommandTooLarge,
		ErrInvalidConfig, ErrBadEntry, ErrResultCount, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// handleRPC runs one request on this node.
func (n *Node) handleRPC(op byte, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
	defer cancel()
	switch op {
	case rpcApply:
		res, idx, err := n.applyIndexed(ctx, payload)
		if err != nil && (n.codec == nil || isNodeError(err)) {
			return nil, err
		}
		out := binary.AppendUvarint(nil, idx)
		if n.codec == nil {
			return out, nil
		}
		if err != nil {
			res = err // a result the state machine returned as an error
		}
		b, err := n.codec.EncodeResult(res)
		return append(out, b...), err
	case rpcJoin:
		id, rest, err := readStr(payload)
		if err != nil {
			return nil, err
		}
		addr, _, err := readStr(rest)
		if err != nil {
			return nil, err
		}
		return nil, n.JoinForward(ctx, id, addr)
	case rpcRemove:
		id, _, err := readStr(payload)
		if err != nil {
			return nil, err
		}
		return nil, n.RemoveForward(ctx, id)
	default:
		return nil, fmt.Errorf("%w: unknown op %d", errBadFrame, op)
	}
}
