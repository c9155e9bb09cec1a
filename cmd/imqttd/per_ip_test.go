package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	pahov3packets "github.com/eclipse/paho.mqtt.golang/packets"
)

// TestSharedAddressNotRefusedByDefault is the acceptance test of the per-IP
// part of issue 16: 150 clients behind one address (a carrier-grade NAT, an
// office, a load balancer without PROXY protocol) connect at once and stay
// connected with the default limits. The old defaults (100 sockets, 20 new a
// second with a burst of 40 per address) reset all but the first 40.
func TestSharedAddressNotRefusedByDefault(t *testing.T) {
	// 15 users with 10 devices each (the IM service's default device bound).
	var users []string
	for u := range 15 {
		users = append(users, fmt.Sprintf("user%d", u))
	}
	n := usersNode(t, imqttdBin, "nat1", users, "", "")
	const nat = "127.0.0.3"
	var wg sync.WaitGroup
	errs := make(chan error, 150)
	for i := range 150 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(nat)}, Timeout: 10 * time.Second}
			conn, err := d.Dial("tcp", n.addr("tcp"))
			if err != nil {
				errs <- err
				return
			}
			user := fmt.Sprintf("user%d", i%15)
			if _, err := connectV5(t, conn, fmt.Sprintf("phone-%d", i), user, user+"-pw", true); err != nil {
				errs <- fmt.Errorf("phone-%d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := metricSum(t, n, "imqtt_connections_rejected_total"); got != 0 {
		t.Fatalf("imqtt_connections_rejected_total = %v, want 0", got)
	}
	// Ten devices of a user logging in together queue briefly behind each
	// other's bcrypt checks; that is not login throttling.
	if got := metricSum(t, n, "imqtt_limit_refusals_total", `limit="auth.throttle"`); got != 0 {
		t.Fatalf("imqtt_limit_refusals_total{limit=auth.throttle} = %v, want 0", got)
	}
	// The gauge is read from the engine at scrape time; the last connections
	// may still be in their handshake: poll.
	deadline := time.Now().Add(30 * time.Second)
	for got := 0.0; got < 150; got = metricSum(t, n, "imqtt_clients_connected") {
		if time.Now().After(deadline) {
			t.Fatalf("imqtt_clients_connected = %v, want 150 at once", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPerIPRefusalAnswered: with the per-address rate turned on, a refused
// client of the tcp listener reads why (v5 CONNACK 0x9F Connection rate
// exceeded, 3.1.1 return code 3 Server unavailable) instead of a reset, and the
// refusal is counted and logged.
func TestPerIPRefusalAnswered(t *testing.T) {
	// imNode's extra YAML lands at the top level after the im: section.
	n := imNode(t, "limits:\n  per_ip_rate: 0.01\n  per_ip_burst: 2")
	for i := range 2 {
		conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := connectV5(t, conn, fmt.Sprintf("ok-%d", i), "alice", "alice-pw", true); err != nil {
			t.Fatalf("connection %d within the burst: %v", i, err)
		}
	}
	conn, err := dialMQTT(t, "tcp", n.addr("tcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := connectV5(t, conn, "over", "alice", "alice-pw", true)
	if c.connack == nil || c.connack.ReasonCode != 0x9F {
		t.Fatalf("over the rate (v5): CONNACK %+v, want 0x9F", c.connack)
	}
	o := pahov3.NewClientOptions().AddBroker("tcp://" + n.addr("tcp")).SetClientID("over-v3").
		SetUsername("alice").SetPassword("alice-pw").SetProtocolVersion(4).SetAutoReconnect(false)
	tok := pahov3.NewClient(o).Connect()
	if !tok.WaitTimeout(10*time.Second) || !errors.Is(tok.Error(), pahov3packets.ErrorRefusedServerUnavailable) {
		t.Fatalf("over the rate (3.1.1): %v, want return code 3", tok.Error())
	}
	if got := metricSum(t, n, "imqtt_connections_rejected_total", `reason="per_ip_rate"`); got != 2 {
		t.Fatalf("imqtt_connections_rejected_total{reason=per_ip_rate} = %v, want 2", got)
	}
	n.waitLog(10*time.Second, `"message":"connection rejected"`, `"reason":"per_ip_rate"`)
}
