package limits

import "fmt"

// DefaultMaxTopicLevels is the default limits.max_topic_levels. mosquitto refuses
// a topic name or filter with more than 200 '/' separators (TOPIC_HIERARCHY_LIMIT
// in src/mosquitto_broker_internal.h, checked in lib/util_topic.c), that is more
// than 201 levels (mosquitto v2.0.20, commit fb9b115). imqtt counts levels, and
// 200 is the round number next to it.
const DefaultMaxTopicLevels = 200

// maxTopicLevels is the most levels a topic can have: 65535 bytes, all '/'.
const maxTopicLevels = 65536

// LevelsConfig bounds the depth of topic names and filters (limits.max_topic_levels).
type LevelsConfig struct {
	// MaxTopicLevels is the most levels ('/'-separated parts) a PUBLISH topic
	// name or a SUBSCRIBE/UNSUBSCRIBE topic filter may have.
	MaxTopicLevels int `yaml:"max_topic_levels"`
}

// DefaultLevelsConfig returns the default: 200 levels.
func DefaultLevelsConfig() LevelsConfig { return LevelsConfig{MaxTopicLevels: DefaultMaxTopicLevels} }

// Validate checks the bound: 1..65536.
func (c LevelsConfig) Validate() error {
	if c.MaxTopicLevels < 1 || c.MaxTopicLevels > maxTopicLevels {
		return fmt.Errorf("max_topic_levels: %d: must be between 1 and %d: %w", c.MaxTopicLevels, maxTopicLevels, ErrInvalidConfig)
	}
	return nil
}
