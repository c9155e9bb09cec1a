package listen

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/testkit"
)

func testLogger(t *testing.T) zerolog.Logger {
	return testkit.Logger(t, zerolog.DebugLevel).With().Timestamp().Logger()
}

// testLimits returns DefaultLimits with the per-IP rate off (tests connect fast
// from one address).
func testLimits() Limits {
	l := DefaultLimits()
	l.PerIPRate = 0
	l.PerIPConnections = 0
	return l
}

func testLoggerB(b *testing.B) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(b)).Level(zerolog.WarnLevel)
}

// connectV5 is a CONNECT for MQTT 5, clean start, keepalive 30 s, no properties.
func connectV5(clientID string) []byte {
	body := append(mqttString("MQTT"), 5, 0x02, 0, 30, 0)
	body = append(body, mqttString(clientID)...)
	return packet(0x10, body)
}

// connectV311 is a CONNECT for MQTT 3.1.1, clean session, keepalive 30 s.
func connectV311(clientID string) []byte {
	body := append(mqttString("MQTT"), 4, 0x02, 0, 30)
	body = append(body, mqttString(clientID)...)
	return packet(0x10, body)
}

// connectV31 is an MQTT 3.1 CONNECT (protocol name MQIsdp, level 3).
func connectV31(clientID string) []byte {
	body := append(mqttString("MQIsdp"), 3, 0x02, 0, 30)
	body = append(body, mqttString(clientID)...)
	return packet(0x10, body)
}

func packet(header byte, body []byte) []byte {
	return append(append([]byte{header}, varint(len(body))...), body...)
}

func mqttString(s string) []byte {
	b := make([]byte, 2+len(s))
	binary.BigEndian.PutUint16(b, uint16(len(s)))
	copy(b[2:], s)
	return b
}

func varint(n int) []byte {
	var out []byte
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			return out
		}
	}
}
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
