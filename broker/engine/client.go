package engine

import (
	"sync/atomic"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// client is one connection's protocol state (transport.Conn.Data), created
// by a successful CONNECT. Fields set in connect are read-only afterwards;
// the rest are touched only by the connection's own (serialised) Packet
// calls, except where noted.
type client struct {
	e    *Engine
	conn *transport.Conn
	info ext.Client
	s    *session // guarded by s.mu for attach/detach; fixed for the client's life

	will      *will             // the CONNECT's will, until a normal DISCONNECT; s.mu after attach
	inAliases map[uint16]string // inbound topic aliases, lazily created

	outAliases map[string]uint16 // outbound topic aliases (alias.go), lazily created; s.mu

	// Small fields packed: 16 bytes.
	outAliasMax uint16 // aliases the server may assign, 0 = none [MQTT-3.1.2-26]
	recvMax     uint16 // the client's Receive Maximum (outbound window)
	keepalive   uint16 // effective keepalive in seconds
	problemInfo bool   // Request Problem Information [MQTT-3.1.2-29]
	clean       bool   // the CONNECT's Clean Session / Clean Start (admin.go)
	connectedAt int64  // unix milliseconds of the CONNACK (admin.go)
	ready       bool   // the CONNACK is queued: other packets may follow; s.mu
	maxPacket   uint32 // the client's Maximum Packet Size, 0 = none [MQTT-3.1.2-24]
	// counted: Observer.ClientConnected was called (a CONNACK accepted it).
	counted atomic.Bool

	fullSince int64 // unix seconds since QoS 0 deliveries were refused (pending full); 0 = not full; under s.mu

	lost        bool  // the connection closed before attach could see it (authstep.go markLost); e.mu
	lifeOK      bool  // Lifecycle.Connected accepted it, no Disconnected yet (lifecycle.go; its id's entry lock)
	at          int64 // unix nanoseconds of the CONNACK with a Router (cluster takeover), s.mu
	closing     error // the reason of the server's DISCONNECT: the connection lingers (linger.go)
	lingerUntil int64 // unix nanoseconds: the linger's end
}

// logEvent adds the client's identity to ev. The engine keeps no logger per
// client: zerolog's With would copy the context into every connection
// (~450 B each, measured), for lines that are mostly at debug level.
func (cl *client) logEvent(ev *zerolog.Event) *zerolog.Event {
	return ev.Str(logfield.ClientID, cl.info.ID).Str(logfield.User, cl.info.Username)
}

// v5 reports whether the client speaks MQTT 5.
func (cl *client) v5() bool { return cl.info.ProtocolVersion == 5 }

// send encodes pk for the client and queues it. b may be nil (another
// goroutine: the transport flushes at once).
func (cl *client) send(b *transport.Batch, pk *packets.Packet) transport.QueueResult {
	pk.ProtocolVersion = cl.info.ProtocolVersion
	pk.Mods.AllowResponseInfo = true
	pk.Mods.DisallowProblemInfo = !cl.problemInfo
	pk.Mods.MaxSize = cl.maxPacket
	enc, err := encode(pk)
	if err != nil {
		cl.logEvent(cl.e.log.Error()).Err(err).Uint8("type", pk.FixedHeader.Type).Msg("encode packet")
		return transport.Refused
	}
	return cl.queue(b, pk.FixedHeader.Type, enc)
}

// queuePublish queues an encoded PUBLISH of topic; when it announced alias
// a new alias (bind != 0) and was queued, the alias is bound (alias.go).
// Called with s.mu held.
func (cl *client) queuePublish(b *transport.Batch, enc []byte, topic string, bind uint16) transport.QueueResult {
	r := cl.queue(b, packets.Publish, enc)
	if bind != 0 && (r == transport.Queued || r == transport.QueuedFull) {
		cl.bindAlias(topic, bind)
	}
	return r
}

func (cl *client) queue(b *transport.Batch, typ byte, enc []byte) transport.QueueResult {
	r := cl.conn.Queue(b, enc)
	if r == transport.Queued || r == transport.QueuedFull {
		cl.e.obs.PacketSent(enc[0], len(enc)) // the fixed header's first byte
		cl.e.st.pktOut.Add(1)
		cl.e.st.bytesOut.Add(int64(len(enc)))
		if typ == packets.Publish {
			cl.e.st.msgOut.Add(1)
		}
	}
	return r
}

// sendDisconnect queues a server DISCONNECT with err's reason code to a v5
// client [MQTT-3.14.2-1]; a 3.1.1 client is just closed [MQTT-4.13.1-1].
func (cl *client) sendDisconnect(b *transport.Batch, err error) {
	if !cl.v5() {
		return
	}
	cl.send(b, &packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
		ReasonCode:  reasonCode(err),
	})
}
