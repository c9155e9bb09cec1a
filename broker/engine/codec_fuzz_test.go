package engine

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// FuzzDecode feeds arbitrary bodies to the engine's decoding entry point
// for every packet type and version: no panic escapes, and a decoded PUBLISH
// re-encodes.
func FuzzDecode(f *testing.F) {
	f.Add(byte(0x10), byte(5), []byte("\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x01c"))
	f.Add(byte(0x10), byte(4), []byte("\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c"))
	f.Add(byte(0x32), byte(5), []byte("\x00\x01a\x00\x01\x00hello"))
	f.Add(byte(0x30), byte(4), []byte("\x00\x01ahello"))
	f.Add(byte(0x82), byte(5), []byte("\x00\x01\x00\x00\x01a\x2d"))
	f.Add(byte(0x82), byte(5), []byte("\x00\x01\x00\x00\x01a"))
	f.Add(byte(0xa2), byte(4), []byte("\x00\x01\x00\x01a"))
	f.Add(byte(0x62), byte(5), []byte("\x00\x01\x00\x00"))
	f.Add(byte(0xe0), byte(5), []byte("\x04\x05\x11\x00\x00\x00\x10"))
	f.Fuzz(func(t *testing.T, hb byte, v byte, body []byte) {
		var fh packets.FixedHeader
		if fh.Decode(hb) != nil {
			return
		}
		fh.Remaining = len(body)
		pk, err := decode(fh, body, v%6)
		if err != nil || fh.Type != packets.Publish {
			return
		}
		pk.Mods.AllowResponseInfo = true
		if pk.FixedHeader.Qos > 0 && pk.PacketID == 0 {
			return
		}
		if _, err := encode(&pk); err != nil {
			t.Fatalf("re-encode decoded publish: %v", err)
		}
	})
}
