package broker

import (
	"errors"
	"strings"
	"testing"

	"github.com/imqtt/imqtt/im"
	"github.com/imqtt/imqtt/im/media"
)

// TestMediaErrMapping: every media sentinel reaches the client as the im
// refusal of its documented reason code.
func TestMediaErrMapping(t *testing.T) {
	for _, c := range []struct {
		err, want error
	}{
		{media.ErrTooLarge, im.ErrTooLarge},
		{media.ErrQuota, im.ErrMediaQuota},
		{media.ErrBadRequest, im.ErrBadMedia},
		{media.ErrType, im.ErrBadMedia},
		{media.ErrNotIssued, im.ErrMediaURL},
		{media.ErrBadSignature, im.ErrMediaURL},
		{media.ErrExpired, im.ErrMediaURL},
		{media.ErrUnavailable, im.ErrStorage},
		{media.ErrClosed, im.ErrStorage},
	} {
		if got := mediaErr(c.err); !errors.Is(got, c.want) || !errors.Is(got, c.err) {
			t.Errorf("%v -> %v, want %v", c.err, got, c.want)
		}
	}
	if mediaErr(nil) != nil {
		t.Fatal("nil error mapped")
	}
}

func TestMediaConfigPath(t *testing.T) {
	c := DefaultIMConfig()
	c.Media.Backend = "ftp"
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "im.media: backend") {
		t.Fatalf("got %v, want an error naming im.media.backend", err)
	}
}
