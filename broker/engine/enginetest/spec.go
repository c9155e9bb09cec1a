package enginetest

// Spec returns the broader checks the engine must pass besides WrongToday.
// Some come from issue 17's "wrong today" bullets but were found right on
// the mochi path (see doc.go).
func Spec() []Check {
	return []Check{
		{Name: "will-on-disconnect-0x04", Rule: "5.0 3.14.2.1 (0x04)", Run: checkWillOnDisconnect04},
		{Name: "queued-remaining-expiry", Rule: "MQTT-3.3.2-6", Run: checkRemainingExpiry},
		{Name: "retained-remaining-expiry", Rule: "MQTT-3.3.2-6", Run: checkRetainedRemainingExpiry},
		{Name: "clean-v311-leaves-nothing", Rule: "MQTT-3.1.2-6, 3.1.1 3.2.2.2", Run: checkCleanLeavesNothing(4)},
		{Name: "clean-v311-dropped-leaves-nothing", Rule: "MQTT-3.1.2-6, 3.1.1 3.2.2.2", Run: checkCleanDroppedLeavesNothing},
		{Name: "qos-both-ways", Rule: "MQTT-3.8.4-8, 4.3", Run: checkQoSBothWays},
		{Name: "qos2-inbound-exactly-once", Rule: "MQTT-4.3.3-10, 4.3.3", Run: checkQoS2InboundOnce},
		{Name: "v311-qos1-qos2-flows", Rule: "3.1.1 4.3.2, 4.3.3", Run: checkV311QoSFlows},
		{Name: "persistent-session-resumes-in-order", Rule: "MQTT-4.6.0-6, MQTT-3.2.2-3", Run: checkPersistentResumeInOrder},
		{Name: "retained-set-and-clear", Rule: "MQTT-3.3.1-6, MQTT-3.3.1-10", Run: checkRetainedSetClear},
		{Name: "retain-handling", Rule: "MQTT-3.3.1-9, MQTT-3.3.1-10, MQTT-3.3.1-11", Run: checkRetainHandling},
		{Name: "retain-as-published", Rule: "MQTT-3.3.1-12, MQTT-3.3.1-13", Run: checkRetainAsPublished},
		{Name: "will-delay", Rule: "MQTT-3.1.3-9, 3.1.2.5", Run: checkWillDelay},
		{Name: "no-will-on-normal-disconnect", Rule: "MQTT-3.1.2-10", Run: checkNoWillOnNormalDisconnect},
		{Name: "takeover-0x8e", Rule: "MQTT-3.1.4-3", Run: checkTakeover0x8E},
		{Name: "keepalive-timeout-publishes-will", Rule: "MQTT-3.1.2-22, MQTT-3.1.2-8", Run: checkKeepaliveTimeout},
		{Name: "ping", Rule: "MQTT-3.12.4-1", Run: checkPing},
		{Name: "first-packet-not-connect-closed", Rule: "MQTT-3.1.0-1", Run: checkFirstPacketNotConnect},
		{Name: "second-connect-closed", Rule: "MQTT-3.1.0-2", Run: checkSecondConnect},
		{Name: "invalid-utf8-topic-v311-closed", Rule: "MQTT-1.5.3-1", Run: checkInvalidUTF8V311},
		{Name: "unsubscribe-stops-delivery", Rule: "MQTT-3.10.4-1", Run: checkUnsubscribeStops},
		{Name: "topic-alias-inbound", Rule: "MQTT-3.3.2-12, 3.3.2.3.4", Run: checkTopicAliasInbound},
		{Name: "receive-maximum-inbound-0x93", Rule: "MQTT-3.3.4-8", Run: checkReceiveMaximumInbound},
		{Name: "shared-subscription-distributes", Rule: "MQTT-4.8.2-3, 4.8.2", Run: checkSharedRoundRobin},
		{Name: "no-local", Rule: "MQTT-3.8.3-3", Run: checkNoLocal},
		{Name: "subscription-identifiers", Rule: "MQTT-3.3.4-3, 3.8.2.1.2", Run: checkSubscriptionIdentifiers},
		{Name: "max-packet-size-0x95", Rule: "MQTT-3.2.2-15, 4.13", Run: checkMaxPacketSizeRefused},
		{Name: "client-max-packet-size-respected", Rule: "MQTT-3.1.2-24, MQTT-3.1.2-25", Run: checkClientMaxPacketSize},
		{Name: "request-response-properties", Rule: "MQTT-3.3.2-15..20, 4.10", Run: checkRequestResponseProperties},
		{Name: "sys-not-matched-by-hash", Rule: "MQTT-4.7.2-1", Run: checkSysNotMatchedByHash},
	}
}
