package engine

import "time"

// Lingering close. After the server's DISCONNECT to a v5 client
// [MQTT-3.14.4-1] the connection is not closed at once: a client that is
// still writing (Paho's test_flow_control2 answers PUBRECs with PUBRELs
// until it reads the DISCONNECT) would get a TCP RST for its next bytes,
// its write fails with a broken pipe and it may never read the reason code.
// So the session is detached at once (the will, session end and takeover
// behave as at close), later packets are read and dropped without an
// answer, and the transport closes the connection when the client closes
// its side, when nothing arrives for lingerTime (the read timeout), or at
// the first packet after lingerTime. No goroutine or timer is added.
// [MQTT-3.14.4-2] (the server closes the connection) holds within
// lingerTime.

// lingerTime bounds how long a connection lingers after the server's
// DISCONNECT.
const lingerTime = time.Second

// linger starts the lingering close of cl after a DISCONNECT with err's
// reason code was queued. It runs on cl's Packet call.
func (cl *client) linger(err error) {
	cl.closing = err
	cl.lingerUntil = now().Add(lingerTime).UnixNano()
	cl.conn.SetReadTimeout(lingerTime)
	cl.e.detach(cl, err)
}

// discard drops a packet read while lingering; past lingerTime it returns
// the DISCONNECT's reason so the transport closes the connection.
func (cl *client) discard() error {
	if now().UnixNano() >= cl.lingerUntil {
		return cl.closing
	}
	return nil
}
