package broker

// mountWeb serves the web chat client (package web) on the admin listener
// under /web/, without the admin token (the page signs in over MQTT). Call it
// from New after mountAdminAPI.
func mountWeb(b *Broker) error {
	return nil
}
