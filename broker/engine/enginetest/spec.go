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
	}
}
