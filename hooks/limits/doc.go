// Package limits is the mochi hook that enforces per-connection protocol limits that
// mochi leaves to the embedding application, and advertises them to MQTT 5 clients:
//
//   - keepalive bounds: a v5 client asking for no keepalive (0) or more than
//     MaxKeepalive gets Server Keep Alive = MaxKeepalive in its CONNACK
//     [MQTT-3.2.2-21]; one asking for less than MinKeepalive gets MinKeepalive. A
//     v3.1.1 client cannot be told, so the server enforces the same bounds silently
//     (the connection read deadline is 1.5 × the effective keepalive).
//
//   - Maximum Packet Size: the CONNACK of a v5 client carries the server's maximum
//     packet size [MQTT-3.2.2-15], which the listener guard (broker/listen) and mochi
//     both enforce.
//
//   - inbound topic aliases: a v5 PUBLISH carrying only a topic alias is resolved
//     to its topic in OnPacketRead, before mochi's ACL check (mochi checks the ACL on
//     the raw packet and resolves the alias afterwards).
//
//   - reserved topic names: mochi silently drops a PUBLISH to $SYS/... or
//     $share/... without acknowledging it; a v5 publisher gets PUBACK/PUBREC 0x87
//     instead and a v3.1.1 publisher of QoS 1/2 is disconnected [MQTT-3.3.5-2].
//
// The hook runs in OnConnect (before mochi arms the keepalive deadline), in
// OnPacketRead and in OnPacketEncode for CONNACK. It never decides authentication
// or ACLs.
package limits
