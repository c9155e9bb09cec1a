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
//
// LevelsHook (levels.go) is a second hook of the package: it bounds topic depth
// (limits.max_topic_levels, default 200 levels; mosquitto refuses more than 200
// '/' separators). In OnPacketRead, before mochi processes the packet (so before
// any hook's OnPublish, OnSubscribe or OnACLCheck and before mochi's topic index,
// whose cost grows with the square of the depth), ExceedsLevels counts separators
// and stops at the first one past the bound:
//
//   - SUBSCRIBE: a too deep filter is replaced by the empty filter, which mochi
//     refuses at once: SUBACK 0x8F (v5) / 0x80 (3.1.1) for it alone.
//   - UNSUBSCRIBE: too deep filters are removed; mochi answers for the rest and
//     OnPacketEncode puts 0x8F back at their positions in the v5 UNSUBACK; if none
//     is left the hook answers the UNSUBACK itself.
//   - PUBLISH: v5 QoS 1/2 get PUBACK/PUBREC 0x90 and the connection stays; v5 QoS 0
//     gets DISCONNECT 0x90; 3.1.1 is closed [MQTT-3.3.5-2].
//   - Will topic: AllowWill, which the broker calls from the auth hook's
//     WillCheck before the ACL (so before any hook's OnConnect does session
//     work): a too deep will is refused like a forbidden one, CONNACK 0x87 / 5.
//
// A packet the hook answered itself reaches mochi as a PUBACK for packet id 0,
// which mochi ignores; the broker adds LevelsHook as the last OnPacketRead provider
// so that no other hook sees that stand-in. Each refusal calls
// LimitObserver.LimitRefused("max_topic_levels") and logs a warning (client, user,
// the first 64 bytes) sampled to one per 10 s. The hook keeps, per client, only
// the pending UNSUBACK rewrite, dropped in OnDisconnect and Stop.
package limits
