// Package limits holds the configuration of the per-connection protocol
// limits the engine (broker/engine) enforces; the broker maps them onto
// engine.Config (broker/engine_wiring.go). The YAML keys are those of the
// `limits:` section:
//
//   - Config: min_keepalive and max_keepalive. A v5 client asking for no
//     keepalive (0) or more than MaxKeepalive gets Server Keep Alive =
//     MaxKeepalive in its CONNACK [MQTT-3.2.2-21]; one asking for less than
//     MinKeepalive gets MinKeepalive; a v3.1.1 client is held to the same
//     bounds silently.
//   - LevelsConfig: max_topic_levels, the depth bound of topic names and
//     filters (default 200 levels; mosquitto refuses more than 200 '/'
//     separators). The engine counts with internal/mqtttopic.ExceedsLevels
//     and refuses a too deep topic with reason 0x8F / 0x90 (engine bounds.go).
//   - FlowConfig: slow_subscriber_wait and max_queued_bytes, the engine's
//     back-pressure (a publisher of a full subscriber stops being read up to
//     the wait, then the subscriber is marked slow; the bytes pending to one
//     client are bounded).
//
// Every config has DefaultX and Validate; errors wrap ErrInvalidConfig and
// name the key. The package has no mochi hook any more (issue 17).
package limits
