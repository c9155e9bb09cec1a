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
// -tls dials every connection over TLS without verifying the broker's certificate:
// it measures a loopback listener with a test certificate and checks nothing.
//
// IM scenarios (im.go; the load goes through imqttd's IM layer, docs/protocol.md):
//
//	imchat  -pubs N chat pairs: user b{i}s sends direct messages (im/send/user/b{i}r,
//	        {"cid","body"}) to user b{i}r, who reads im/u/b{i}r/msg; b{i}s reads its
//	        acks on im/u/b{i}s/ack; with -receipts K every K-th delivered message
//	        is answered by b{i}r with a read receipt (im/receipt/{conv}, QoS 0) and
//	        b{i}s also reads im/u/b{i}s/receipt (receipts_sent / receipts_received)
//	imgroup one group of -subs M members g0..g{M-1}: g0 builds it on a setup
//	        connection before anyone else connects (rpc group.create with 256 users,
//	        then group.invite in chunks of 256; the broker's im.group_max_members
//	        must allow M); every member reads im/u/g{j}/msg; -pubs P senders
//	        (g0..g{P-1}, on a second device that reads the acks) send to
//	        im/send/group/{id}, so each message is expected by all M members
//	imstorm reconnect + sync storm (imstorm.go): -subs N receivers (default 1000
//	        here) connect one device each (clean session, im/u/{user}/#) and
//	        all disconnect; -pubs P senders then send -msgs K (default 20)
//	        direct messages to each receiver (message m of receiver j from
//	        sender (j*K+m) mod P: min(P, K) conversations per receiver), at most
//	        -inflight unanswered per sender, until every send is answered (or
//	        nothing moved for -drain), and disconnect. After -settle all N
//	        devices reconnect at once (at most -concurrency dials in flight,
//	        default 200 here) and each calls rpc sync from since {} (a fresh
//	        device) on reply topic im/u/{user}/rpc/sync, following the returned
//	        since while more is true (limit 200, fewer for large -size)
//
// imchat and imgroup send at QoS 1 at a total -rate (0: flood within -inflight per
// sender). All IM scenarios send at QoS 1 and authenticate every user with an
// HS256 JWT the tool signs from -jwt-secret-file
// (sub = user, exp = now + 1 h; the token is the MQTT password). The body carries
// the payload header as 40 hex digits (imbody.go); the cid "{run}.{sender}.{seq}"
// names the message, so duplicates are counted by cid. "acked" counts acks with
// ok:true on the ack topic (the message is committed through raft: durable); the
// ack latency is send -> that ack; PUBACKs only pace the senders (a missing one is
// reported). A refused send (ok:false) is neither expected nor lost: it is counted
// in the errors with its first reason. acked_lost counts acked messages that never
// reached a target member. Setup lines (group built, members connected) go to
// stderr with the progress.
//
// imstorm ignores -duration and -warmup and refuses a -rate: its backlog is sent
// in a flood and the storm lasts until every device synced (at most 5
// minutes). Only sends acked ok:true are expected. Its result maps onto the
// common fields: window_s = the storm (first dial to the last device synced);
// connected / failed = reconnects; connect_rate_per_s = CONNACKs/s (connected /
// time to the last CONNACK); handshake_us = dial -> CONNACK; sent / acked /
// sent_per_s / ack_latency_us = the backlog's sends; expected = acked sends;
// received = this run's messages returned by sync (each once); duplicates =
// returned again; lost = acked_lost = missing (acked sends no sync page
// returned to their receiver; 0 in a correct run), loss_pct of expected;
// delivered_per_s = received / window_s (synced msg/s); latency_us = storm
// start -> device synced (its last page, more: false); broker CPU and RSS cover
// the storm (broker_cpu_s_per_M_delivered: per 1M synced messages). It adds
// synced_devices (syncs that ended with more: false), sync_rpcs (sync pages)
// and send_s (the backlog's send phase), and config.msgs (-msgs). report puts
// imstorm runs in a table of their own (milliseconds).
//
// The tool's own client reads envelopes with a small allocation-free JSON scanner
// (imjson.go); tools/imbench.sh runs the IM cases against a fresh imqttd each.
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
// -hold + the liveness check; imstorm: the backlog until -drain passes without
// an ack, -settle, then the storm, at most 5 minutes); every goroutine started for a run is stopped and
// waited for before the run returns; SIGINT/SIGTERM end it early with a partial result.
package main
