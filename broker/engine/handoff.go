package engine

import (
	"bytes"
	"strings"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
)

// A claimed publish (Options.Handler, ext.PublishHandler) is handed off the
// transport worker, which must never wait for a raft commit:
//
//  1. publish.go, on the worker: the publish passed its checks and
//     ext.AccessPublish, and Handler.Claims(topic). handOff copies it out of
//     the read buffer, pauses the publisher's connection until done is
//     closed (transport Conn.Pause: later packets wait in the socket, no
//     worker is held) and starts handle on a goroutine of e.wg.
//  2. handle calls Handler.Handle (it may block until e.ctx ends), queues
//     the PUBACK (QoS 1) or PUBREC (QoS 2) with the handler's code and no
//     Batch (the transport flushes it at once), then closes done: the
//     connection is read again, so acks leave in the order of the publishes.
//
// A claimed publish is acknowledged and never routed. A QoS 2 refusal
// (code >= 0x80) is not kept in flight (4.3.3); an accepted one waits for
// its PUBREL as any other. One handle goroutine per connection at most (the
// connection is paused), each ending when Handle returns.

// handOff starts handling a claimed publish (step 1). It returns
// ErrServerShutdown when the engine is closing.
func (cl *client) handOff(b *transport.Batch, pk *packets.Packet, topic string) error {
	e := cl.e
	if e.closed() {
		return ErrServerShutdown
	}
	p := &ext.InboundPublish{
		Topic:         strings.Clone(topic),
		Payload:       bytes.Clone(pk.Payload),
		QoS:           pk.FixedHeader.Qos,
		Retain:        pk.FixedHeader.Retain,
		ResponseTopic: strings.Clone(pk.Properties.ResponseTopic),
	}
	if len(pk.Properties.CorrelationData) > 0 {
		p.CorrelationData = bytes.Clone(pk.Properties.CorrelationData)
	}
	done := make(chan struct{})
	cl.conn.Pause(b, done, 0)
	e.wg.Add(1)
	go e.handle(cl, p, pk.PacketID, done)
	return nil
}

// handle runs Handler.Handle and answers the publisher (step 2).
func (e *Engine) handle(cl *client, p *ext.InboundPublish, id uint16, done chan struct{}) {
	defer e.wg.Done()
	defer close(done)
	res := e.handler.Handle(e.ctx, &cl.info, p)
	if res.Code >= 0x80 {
		cl.logEvent(e.log.Debug()).Str(logfield.Topic, p.Topic).Str(logfield.Reason, res.Reason).
			Uint8(logfield.Code, res.Code).Msg("claimed publish refused")
	}
	var typ byte
	switch p.QoS {
	case 0:
		return
	case 1:
		typ = packets.Puback // [MQTT-4.3.2-4]
	case 2:
		typ = packets.Pubrec // [MQTT-4.3.3-9]
		if res.Code >= 0x80 {
			cl.s.mu.Lock()
			delete(cl.s.inQoS2, id)
			cl.s.mu.Unlock()
		}
	}
	pk := &packets.Packet{FixedHeader: packets.FixedHeader{Type: typ}, PacketID: id}
	if cl.v5() {
		pk.ReasonCode = res.Code
		if res.Code >= 0x80 {
			pk.Properties.ReasonString = res.Reason // dropped if the client asked for no problem information
		}
	}
	cl.send(nil, pk)
}
