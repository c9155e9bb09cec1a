package enginetest

import (
	"fmt"
	"slices"

	"github.com/eclipse/paho.golang/paho"
)

// drain collects payloads from c until the one named last arrives.
func drain(c *client, last string) ([]string, error) {
	var got []string
	for {
		m, err := c.next(ioTimeout)
		if err != nil {
			return got, fmt.Errorf("after %v, waiting for %q: %w", got, last, err)
		}
		got = append(got, string(m.Payload))
		if string(m.Payload) == last {
			return got, nil
		}
	}
}

// checkRetainedSetClear: a retained message reaches a new subscriber with
// RETAIN 1; a zero-length retained PUBLISH clears it [MQTT-3.3.1-6, -10].
func checkRetainedSetClear(tg Target) error {
	topic := uniq("ret/set")
	p, err := connectV5(tg, "ret-pub")
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
		return err
	}
	s, err := connectV5(tg, "ret-sub")
	if err != nil {
		return err
	}
	if err = s.sub1(topic, 1); err == nil {
		var m *paho.Publish
		if m, err = s.expectMsg(topic, "kept"); err == nil && !m.Retain {
			err = fmt.Errorf("retained message delivered at SUBSCRIBE with RETAIN 0 [MQTT-3.3.1-9]: %w", ErrUnexpected)
		}
	}
	s.close()
	if err != nil {
		return err
	}
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Retain: true}); err != nil {
		return err
	}
	s, err = connectV5(tg, "ret-sub2")
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.sub1(topic, 1); err != nil {
		return err
	}
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte("live")}); err != nil {
		return err
	}
	got, err := drain(s, "live")
	if err != nil {
		return err
	}
	if !slices.Equal(got, []string{"live"}) {
		return fmt.Errorf("after clearing, a new subscriber got %q: %w", got, ErrUnexpected)
	}
	return nil
}

// checkRetainHandling: 0 sends retained at every SUBSCRIBE, 1 only when the
// subscription is new, 2 never [MQTT-3.3.1-9..11].
func checkRetainHandling(tg Target) error {
	topic := uniq("ret/rh")
	p, err := connectV5(tg, "rh-pub")
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.pub(&paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: []byte("r")}); err != nil {
		return err
	}
	defer func() { _ = p.pub(&paho.Publish{Topic: topic, QoS: 1, Retain: true}) }()
	for rh, want := range [][]string{{"r", "r", "live"}, {"r", "live"}, {"live"}} {
		s, err := connectV5(tg, "rh-sub")
		if err != nil {
			return err
		}
		opt := paho.SubscribeOptions{Topic: topic, QoS: 1, RetainHandling: byte(rh)}
		err = s.sub(nil, opt)
		if err == nil {
			err = s.sub(nil, opt) // the same subscription again
		}
		if err == nil {
			err = p.pub(&paho.Publish{Topic: topic, QoS: 1, Payload: []byte("live")})
		}
		var got []string
		if err == nil {
			got, err = drain(s, "live")
		}
		s.close()
		if err != nil {
			return fmt.Errorf("retain handling %d: %w", rh, err)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("retain handling %d, subscribed twice: got %q, want %q: %w", rh, got, want, ErrUnexpected)
		}
	}
	return nil
}

// checkRetainAsPublished: live deliveries keep RETAIN 1 only on a
// Retain As Published subscription [MQTT-3.3.1-12, -13].
func checkRetainAsPublished(tg Target) error {
	topic := uniq("ret/rap")
	s, err := connectV5(tg, "rap-sub")
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.sub(nil, paho.SubscribeOptions{Topic: topic + "/rap", QoS: 1, RetainAsPublished: true},
		paho.SubscribeOptions{Topic: topic + "/plain", QoS: 1}); err != nil {
		return err
	}
	p, err := connectV5(tg, "rap-pub")
	if err != nil {
		return err
	}
	defer p.close()
	for _, sfx := range []string{"/rap", "/plain"} {
		if err := p.pub(&paho.Publish{Topic: topic + sfx, QoS: 1, Retain: true, Payload: []byte(sfx)}); err != nil {
			return err
		}
		defer func() { _ = p.pub(&paho.Publish{Topic: topic + sfx, QoS: 1, Retain: true}) }()
		m, err := s.expectMsg(topic+sfx, sfx)
		if err != nil {
			return err
		}
		if m.Retain != (sfx == "/rap") {
			return fmt.Errorf("live delivery on %s subscription has RETAIN %v: %w", sfx, m.Retain, ErrUnexpected)
		}
	}
	return nil
}
