// Command imqtt-bench is imqtt's MQTT load generator. It measures any MQTT 3.1.1 or
// 5.0 broker on the same machine over loopback, so that imqttd and mosquitto can be
// compared side by side in one sitting (tools/compare.sh does that).
//
// Scenarios (-scenario):
//
//	fanin   -pubs P publishers -> 1 subscriber on one topic
//	fanout  1 publisher -> -subs S subscribers on one topic
//	pairs   -pubs N publisher/subscriber pairs on distinct topics (1:1 chat) at a
//	        fixed total -rate
//	conns   -pubs N idle connections (-subscribe: each subscribes to its own inbox
//	        topic); connect rate, handshake p50/p99, broker bytes per connection
//
// IM scenarios (chat pairs with acks and receipts, group fan-out, reconnect + sync
// storm) are not written yet: the IM layer does not exist. They belong in their own
// file (im.go) as further entries of the scenarios table in main.go, reusing the flow
// engine (flow.go) and the wire client (mqtt.go).
//
// The load generator speaks MQTT through its own small client (mqtt.go: CONNECT,
// SUBSCRIBE, PUBLISH QoS 0/1, PUBACK, PINGREQ, DISCONNECT for protocol versions 4 and
// 5) rather than paho, whose per-message overhead would make the tool, not the broker,
// the bottleneck on two cores.
//
// Every payload starts with a 20-byte header: the send time (nanoseconds on this
// process's monotonic clock), the publisher index and the publisher's sequence
// number. Latency is receive time minus send time, so it is only meaningful when the
// tool and the broker share a machine (the tool refuses non-loopback brokers unless
// -allow-remote). QoS 1 messages count as "acked" when their PUBACK arrived;
// acked_lost counts acked messages that never reached a subscriber, exactly, from
// per-subscriber bitmaps.
//
// Output: progress once a second on stderr, a human table on stdout and, with -json,
// one JSON line per run on stdout. `imqtt-bench report FILE...` turns JSON lines into
// a markdown table of medians per case and broker.
//
// Loss: after the measured window the publishers stop and the run drains: it waits
// until every expected delivery (and every PUBACK) arrived, or until nothing arrived
// for -drain, at most 2 minutes. A broker still working off a backlog is therefore
// not charged with loss; what never arrives is lost (lost = expected - received,
// duplicates excluded).
//
// Lifetime: a run is bounded by -warmup + -duration + the drain (conns: -settle +
// -hold + the liveness check); every goroutine started for a run is stopped and
// waited for before the run returns; SIGINT/SIGTERM end it early with a partial result.
package main
