package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// The join probe: before Join makes a node a voter, the leader dials it on
// the cluster port with a connection of kind connHello. The handshake makes
// the node prove the cluster secret (and the leader prove it in turn); the
// node then answers str(its node id) and closes. A node that cannot be
// reached, fails the handshake or names another id is not added.

// serveHello answers a join probe with this node's id.
func (n *Node) serveHello(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(n.cfg.HandshakeTimeout))
	_, _ = c.Write(appendStr(nil, n.cfg.NodeID))
}

// probePeer checks that the node at addr proves the cluster secret and is
// node id. Errors wrap ErrPeerUnauthenticated (unreachable, handshake
// failed, no answer), ErrInvalidConfig (another id answered) or ctx.Err().
func (n *Node) probePeer(ctx context.Context, id, addr string) error {
	timeout := dialTimeout + n.cfg.HandshakeTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(dl), time.Millisecond))
	}
	c, err := n.stream.DialKind(addr, connHello, timeout)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: node %q at %s: %w", ErrPeerUnauthenticated, id, addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	_ = c.SetReadDeadline(time.Now().Add(n.cfg.HandshakeTimeout))
	got, err := readID(bufio.NewReader(c))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: node %q at %s: no answer to the join probe: %v", ErrPeerUnauthenticated, id, addr, err)
	}
	if got != id {
		return fmt.Errorf("%w: join id %q: the node at %s is %q", ErrInvalidConfig, id, addr, got)
	}
	return nil
}

// readID reads str(node id), at most maxNodeIDLen bytes.
func readID(r *bufio.Reader) (string, error) {
	l, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	if l > maxNodeIDLen {
		return "", fmt.Errorf("%w: node id of %d bytes", errBadFrame, l)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}
