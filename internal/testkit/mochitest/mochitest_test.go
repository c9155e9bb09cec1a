package mochitest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestServe connects a real MQTT 5 client to the served broker.
func TestServe(t *testing.T) {
	addr, srv := Serve(t, Options{InlineClient: true}, new(AllowAll))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: "c1", CleanStart: true, Username: "u", UsernameFlag: true})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect: %v (%+v)", err, ca)
	}
	if cl, ok := srv.Clients.Get("c1"); !ok || string(cl.Properties.Username) != "u" {
		t.Fatalf("server does not hold client c1 with username u")
	}
	_ = c.Disconnect(&paho.Disconnect{})
}
