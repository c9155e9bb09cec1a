package flow

import (
	"fmt"
	"reflect"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// probe reads the length and capacity of a client's outbound queue. mochi keeps
// the queue in an unexported channel of ClientState; the length of a channel is
// read by the runtime without a lock (len(ch)), which is what reflect does too,
// and the field is assigned once when the client is created.
type probe struct {
	field int // index of ClientState.outbound
}

func newProbe() (probe, error) {
	f, ok := reflect.TypeOf(mqtt.ClientState{}).FieldByName("outbound")
	if !ok || f.Type.Kind() != reflect.Chan || len(f.Index) != 1 {
		return probe{}, fmt.Errorf("ClientState.outbound: %w", ErrIncompatible)
	}
	return probe{field: f.Index[0]}, nil
}

// queue returns the number of packets waiting in cl's outbound queue and the
// queue's capacity (0, 0 for a client without one).
func (p probe) queue(cl *mqtt.Client) (n, capacity int) {
	v := reflect.ValueOf(&cl.State).Elem().Field(p.field)
	if v.IsNil() {
		return 0, 0
	}
	return v.Len(), v.Cap()
}
