package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
)

// connect handles the first packet of a connection on a transport worker:
// decode, validate and assign a client id, then pause the connection and
// hand the rest to the authentication pool (authstep.go): Authenticate,
// then connectAuthed.
func (e *Engine) connect(b *transport.Batch, c *transport.Conn, fh packets.FixedHeader, body []byte) error {
	e.obs.PacketReceived(firstByte(fh), fh.Remaining+headerLen(fh.Remaining))
	e.st.pktIn.Add(1)
	e.st.bytesIn.Add(int64(fh.Remaining + headerLen(fh.Remaining)))
	// Decoded from a copy: the fields alias it, and the read buffer is
	// reused once this batch ends, before Authenticate runs.
	pk, err := decode(fh, bytes.Clone(body), 0)
	if err != nil {
		// The version is known if the decoder got that far.
		if pk.ProtocolVersion == 5 {
			connack(b, c, 5, 0x81, false, nil) // [MQTT-3.1.4-1]
		}
		return fmt.Errorf("%w: %w", ErrConnectRefused, err)
	}
	v := pk.ProtocolVersion
	if code := validateConnect(&pk); code != 0 {
		if code != 0xFF {
			connack(b, c, v, code, false, nil)
		}
		return fmt.Errorf("%w: invalid CONNECT (0x%02x)", ErrConnectRefused, code)
	}
	if e.closed() {
		connack(b, c, v, 0x8B, false, nil) // server shutting down (3.1.1: 3)
		return ErrServerShutdown
	}

	cl := &client{e: e, conn: c, recvMax: 65535, problemInfo: true}
	cl.info = ext.Client{
		ID:              strings.Clone(pk.Connect.ClientIdentifier),
		Listener:        c.Listener(),
		Remote:          c.Remote(),
		ProtocolVersion: v,
		TLS:             c.TLS(),
	}
	var props packets.Properties
	assigned := false
	if cl.info.ID == "" {
		if v < 4 || (v == 4 && !pk.Connect.Clean) {
			connack(b, c, v, 0x85, false, nil) // [MQTT-3.1.3-8] identifier rejected
			return fmt.Errorf("%w: empty client id", ErrConnectRefused)
		}
		cl.info.ID = newClientID() // [MQTT-3.1.3-6] [MQTT-3.1.3-7]
		assigned = true
		if v == 5 {
			props.AssignedClientID = cl.info.ID // [MQTT-3.2.2-16]
		}
	}
	if v == 5 {
		p := &pk.Properties
		if p.ReceiveMaximum > 0 {
			cl.recvMax = p.ReceiveMaximum
		}
		cl.maxPacket = p.MaximumPacketSize
		cl.outAliasMax = min(p.TopicAliasMaximum, e.cfg.OutboundTopicAliasMaximum) // [MQTT-3.1.2-27]
		if p.RequestProblemInfoFlag && p.RequestProblemInfo == 0 {
			cl.problemInfo = false
		}
	}

	// [MQTT-3.1.2-11] ff. will checks against the server's capabilities.
	if pk.Connect.WillFlag {
		if pk.Connect.WillQos > e.cfg.MaxQoS {
			connack(b, c, v, 0x9B, false, nil) // [MQTT-3.2.2-12]
			return fmt.Errorf("%w: will qos %d", ErrConnectRefused, pk.Connect.WillQos)
		}
		if pk.Connect.WillRetain && !e.cfg.RetainAvailable {
			connack(b, c, v, 0x9A, false, nil) // [MQTT-3.2.2-13]
			return fmt.Errorf("%w: will retain", ErrConnectRefused)
		}
		if !validTopic(pk.Connect.WillTopic) {
			connack(b, c, v, 0x90, false, nil)
			return fmt.Errorf("%w: will topic %q", ErrConnectRefused, pk.Connect.WillTopic)
		}
		if e.tooDeep(pk.Connect.WillTopic) {
			// As a forbidden will (hooks/limits AllowWill): 0x87 / 5.
			connack(b, c, v, 0x87, false, nil)
			e.refusedDeep(&cl.info, "will", pk.Connect.WillTopic)
			return fmt.Errorf("%w: will topic deeper than %d levels", ErrConnectRefused, e.cfg.MaxTopicLevels)
		}
	}

	req := &ext.ConnectRequest{
		Client:       &cl.info,
		UsernameFlag: pk.Connect.UsernameFlag,
		PasswordFlag: pk.Connect.PasswordFlag,
		Password:     pk.Connect.Password,
		CleanStart:   pk.Connect.Clean,
		WillFlag:     pk.Connect.WillFlag,
		WillTopic:    pk.Connect.WillTopic,
		AuthMethod:   pk.Properties.AuthenticationMethod,
	}
	cl.info.Username = string(pk.Connect.Username)
	// Authenticate may wait: it runs off this worker (authstep.go), the
	// connection paused until its CONNECT is answered. Closed finds cl
	// meanwhile (markLost).
	c.SetData(cl)
	done := make(chan struct{})
	c.Pause(b, done, 0)
	e.authenticate(&authJob{e: e, cl: cl, pk: &pk, req: req, props: props, assigned: assigned, done: done})
	return nil
}

// connectAuthed finishes a CONNECT that Authenticate judged (res), off the
// transport worker with the connection paused (authstep.go): attach or
// create the session, then answer CONNACK and resend what is in flight, at
// once, or (with a Lifecycle or a store write to wait for) from admit on the
// client id's writer. It reports whether admit took j.done over (it ends the
// pause when it is done); a refusal is answered and the connection closed.
func (e *Engine) connectAuthed(j *authJob, res ext.AuthResult) bool {
	handed, err := e.attachAuthed(j, res)
	if err != nil {
		j.cl.conn.Close(err)
	}
	return handed
}

func (e *Engine) attachAuthed(j *authJob, res ext.AuthResult) (bool, error) {
	cl, c, pk := j.cl, j.cl.conn, j.pk
	v := pk.ProtocolVersion
	if res.Code != 0 {
		connack(nil, c, v, res.Code, false, nil)
		e.log.Info().Str(logfield.ClientID, cl.info.ID).Str(logfield.User, cl.info.Username).Str(logfield.Remote, cl.info.Remote.String()).
			Str(logfield.Listener, cl.info.Listener).Str(logfield.Reason, res.Reason).Msg("connect refused")
		return false, fmt.Errorf("%w: %s", ErrConnectRefused, res.Reason)
	}
	cl.info.Username = res.Identity
	cl.info.TokenID, cl.info.ExpiresAt = res.TokenID, res.ExpiresAt // expiry.go, DisconnectWhere
	if pk.Connect.WillFlag {
		cl.will = newWill(pk, &cl.info)
	}

	// Keepalive [MQTT-3.1.2-22] [MQTT-3.2.2-21]: bounded; a v5 client learns
	// the server's value from Server Keep Alive.
	props := &j.props
	ka, changed := e.keepalive(pk.Connect.Keepalive)
	cl.keepalive = ka
	if changed && v == 5 {
		props.ServerKeepAlive, props.ServerKeepAliveFlag = ka, true
	}

	expiry := e.sessionExpiry(pk)
	cl.clean, cl.connectedAt = pk.Connect.Clean, now().UnixMilli() // before attach publishes cl (admin.go)
	// A session another node wrote and this one has not mirrored yet.
	e.lookupStored(cl.info.ID)
	s, present, ended, delOld, no := e.attach(cl, pk.Connect.Clean, expiry)
	if no != nil {
		connack(nil, c, v, no.code, false, nil)
		if no.limit != "" {
			e.refusedConnect(&cl.info, no)
		}
		return false, fmt.Errorf("%w: %s", ErrConnectRefused, no.why)
	}
	for _, w := range ended {
		e.publishWill(w)
	}

	if v == 5 {
		e.connackProps(props)
		if expiry != pk.Properties.SessionExpiryInterval && pk.Properties.SessionExpiryIntervalFlag {
			props.SessionExpiryInterval, props.SessionExpiryIntervalFlag = expiry, true // the server's value
		}
	}
	if e.life.l == nil && !s.durable && !delOld {
		e.connected(nil, cl, present, props, j.assigned)
		return false, nil
	}
	// Lifecycle.Connected (it may wait for a raft commit) and the record
	// are answered before the CONNACK: the connection stays paused for
	// them on the client id's writer (storewrite.go).
	s.mu.Lock()
	rec := s.record(0, cl.will)
	s.mu.Unlock()
	e.write(cl.info.ID, func(ctx context.Context) {
		defer close(j.done)
		e.admit(ctx, cl, rec, delOld, present, props, j.assigned)
	})
	return true, nil
}

// admit finishes an attached CONNECT off the transport worker, on the
// client id's writer with the connection paused (connect): it asks the
// Lifecycle, deletes the replaced durable record (delOld) and writes the
// session's (rec) if it is durable, then answers with the CONNACK, or with
// a refusal and a close.
func (e *Engine) admit(ctx context.Context, cl *client, rec ext.Session, delOld, present bool, props *packets.Properties, assigned bool) {
	c, s, v := cl.conn, cl.s, cl.info.ProtocolVersion
	code := e.life.connected(e, cl)
	var err error
	if delOld {
		// Memory dropped the old session at attach: so does the store,
		// even when the new connection is refused.
		if err = e.copiesDone(ctx, cl.info.ID); err == nil {
			err = e.store.DeleteSession(ctx, cl.info.ID)
		}
	}
	if code != 0 {
		e.refuseAttached(cl, code) // a device cap: 0x97
		connack(nil, c, v, code, false, nil)
		c.Close(fmt.Errorf("%w: refused by the connection life cycle (0x%02x)", ErrConnectRefused, code))
		return
	}
	// Detached meanwhile (taken over, kicked, Close), the connection's
	// record is not written: the detach or the new connection wrote its own,
	// maybe queued before this admit ran.
	if err == nil && s.durable && e.current(cl.info.ID) == cl {
		// A session last delivered elsewhere resumes from the store.
		if err = e.reloadFlights(s); err == nil {
			err = e.store.PutSession(ctx, rec)
		}
	}
	if err != nil {
		e.log.Warn().Err(err).Str(logfield.ClientID, cl.info.ID).Msg("store session at connect")
		e.refuseAttached(cl, 0x80)
		connack(nil, c, v, 0x80, false, nil) // 3.1.1: 3 (server unavailable)
		c.Close(fmt.Errorf("%w: %w", ErrConnectRefused, err))
		return
	}
	e.connected(nil, cl, present, props, assigned)
}

// connected answers an accepted CONNECT and resumes the session.
func (e *Engine) connected(b *transport.Batch, cl *client, present bool, props *packets.Properties, assigned bool) {
	c, s := cl.conn, cl.s
	c.SetReadTimeout(time.Duration(cl.keepalive) * 1500 * time.Millisecond) // [MQTT-3.1.2-24] 1.5x
	cl.counted.Store(true)
	e.obs.ClientConnected(&cl.info)
	cl.logEvent(cl.e.log.Debug()).Str(logfield.Remote, cl.info.Remote.String()).Str(logfield.Listener, cl.info.Listener).
		Uint8(logfield.Version, cl.info.ProtocolVersion).Bool(logfield.Assigned, assigned).Bool(logfield.SessionPresent, present).Msg("client connected")

	// The CONNACK is queued under s.mu with ready set: from admit (nil
	// Batch) it is written at once, and a takeover, a kick or Close that
	// reads ready == false must not find it already on the wire (it would
	// close the connection without the DISCONNECT the client awaits).
	s.mu.Lock()
	if e.router != nil {
		// Stamped before the CONNACK leaves: a client that has its CONNACK
		// is older than any connect another node accepts after it, however
		// late routeConnect runs (cluster.go TakeOver compares these).
		cl.at = now().UnixNano()
	}
	connack(b, c, cl.info.ProtocolVersion, 0, present, props) // [MQTT-3.2.0-1]
	cur := s.cl == cl                                         // not taken over or closed while admit ran
	if cur {
		cl.ready = true
		s.resume(b) // [MQTT-4.4.0-1] resend in flight with DUP, then the queue
	}
	s.mu.Unlock()
	if cur { // a connection already replaced announces nothing to the cluster
		e.routeConnect(cl)
		e.scheduleExpiry(cl) // credentials with an expiry (expiry.go)
	}
}

// validateConnect checks the CONNECT rules mochi's ConnectValidate checks,
// except that a zero-length will payload is valid. It returns the v5 CONNACK
// code (mapped for 3.1.1 by connack), 0 if valid, 0xFF to close without one.
func validateConnect(pk *packets.Packet) byte {
	c := &pk.Connect
	mqisdp := bytes.Equal(c.ProtocolName, []byte("MQIsdp"))
	mqtt := bytes.Equal(c.ProtocolName, []byte("MQTT"))
	switch {
	case !mqisdp && !mqtt:
		return 0xFF // [MQTT-3.1.2-1] may close without CONNACK
	case (mqisdp && pk.ProtocolVersion != 3) || (mqtt && pk.ProtocolVersion != 4 && pk.ProtocolVersion != 5):
		return 0x84 // [MQTT-3.1.2-2] unsupported protocol version
	case pk.ReservedBit != 0:
		return 0x81 // [MQTT-3.1.2-3]
	case c.WillQos > 2:
		return 0x81 // [MQTT-3.1.2-12]
	case !c.WillFlag && (c.WillRetain || c.WillQos != 0):
		return 0x81 // [MQTT-3.1.2-11] [MQTT-3.1.2-13]
	case !c.UsernameFlag && c.PasswordFlag && pk.ProtocolVersion < 5:
		return 0x81 // [MQTT-3.1.2-22]
	}
	return 0
}

// keepalive bounds a requested keepalive (hooks/limits semantics).
func (e *Engine) keepalive(req uint16) (uint16, bool) {
	min, max := uint16(e.cfg.MinKeepalive/time.Second), uint16(e.cfg.MaxKeepalive/time.Second)
	switch {
	case req == 0 || req > max:
		return max, true
	case req < min:
		return min, true
	}
	return req, false
}

// sessionExpiry is the Session Expiry Interval the server applies: v5 its
// property capped by mqtt.max_session_expiry [MQTT-3.1.2-23]; 3.1.1 clean
// session 0, else the cap.
func (e *Engine) sessionExpiry(pk *packets.Packet) uint32 {
	max := uint32(e.cfg.MaxSessionExpiry / time.Second)
	if pk.ProtocolVersion < 5 {
		if pk.Connect.Clean {
			return 0
		}
		return max
	}
	if x := pk.Properties.SessionExpiryInterval; x < max {
		return x
	}
	return max
}

func (e *Engine) connackProps(p *packets.Properties) {
	p.ReceiveMaximum = e.cfg.ReceiveMaximum // [MQTT-3.3.4-9] our inbound window
	if e.cfg.MaxQoS < 2 {
		p.MaximumQos, p.MaximumQosFlag = e.cfg.MaxQoS, true // [MQTT-3.2.2-9]
	}
	if !e.cfg.RetainAvailable {
		p.RetainAvailable, p.RetainAvailableFlag = 0, true
	}
	p.MaximumPacketSize = e.cfg.MaxPacketSize // [MQTT-3.2.2-15]
	p.TopicAliasMaximum = e.cfg.TopicAliasMaximum
	if !e.cfg.WildcardSubscriptions {
		p.WildcardSubAvailable, p.WildcardSubAvailableFlag = 0, true
	}
	if !e.cfg.SubscriptionIdentifiers {
		p.SubIDAvailable, p.SubIDAvailableFlag = 0, true
	}
	if !e.cfg.SharedSubscriptions {
		p.SharedSubAvailable, p.SharedSubAvailableFlag = 0, true
	}
}

// connack queues a CONNACK. code is a v5 reason code; a 3.1/3.1.1 client
// gets the mapped return code [MQTT-3.2.2-4] ff.
func connack(b *transport.Batch, c *transport.Conn, v byte, code byte, present bool, props *packets.Properties) {
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connack},
		ProtocolVersion: v,
		SessionPresent:  present && code == 0, // [MQTT-3.2.2-6]
		ReasonCode:      code,
	}
	if v != 5 {
		pk.ProtocolVersion = 4
		pk.ReasonCode = v3Code(code)
	} else if props != nil {
		pk.Properties = *props
	}
	pk.Mods.AllowResponseInfo = true
	enc, err := encode(&pk)
	if err != nil {
		return
	}
	c.Queue(b, enc)
}

// v3Code maps a v5 CONNACK reason code to a 3.1.1 return code.
func v3Code(code byte) byte {
	switch code {
	case 0:
		return 0
	case 0x84:
		return 1 // unacceptable protocol version
	case 0x85:
		return 2 // identifier rejected
	case 0x86:
		return 4 // bad user name or password
	case 0x87:
		return 5 // not authorized
	case 0x8A:
		return 5 // banned (a disabled user): not authorized
	}
	return 3 // server unavailable
}

// newClientID returns an assigned client identifier [MQTT-3.1.3-6]: unique
// (96 random bits) and made of the characters every server accepts
// [MQTT-3.1.3-5].
func newClientID() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return "imqtt-" + hex.EncodeToString(r[:])
}
