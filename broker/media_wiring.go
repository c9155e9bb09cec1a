package broker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/im"
	"github.com/imqtt/imqtt/im/media"
	"github.com/imqtt/imqtt/internal/logfield"
)

// mediaDirName is the embedded media store's directory under node.data_dir.
const mediaDirName = "media"

// mediaAdapter is the im.MediaStore of a media.Store: it converts the types
// and maps media's sentinels to im's (reason codes, docs/protocol.md "Media").
type mediaAdapter struct{ st media.Store }

func (a mediaAdapter) Upload(ctx context.Context, user string, f im.MediaFile) (im.MediaGrant, error) {
	g, err := a.st.Upload(ctx, user, media.File(f))
	if err != nil {
		return im.MediaGrant{}, mediaErr(err)
	}
	return im.MediaGrant{PutURL: g.PutURL, PutHeaders: g.PutHeaders, URL: g.URL, Expires: g.Expires}, nil
}

func (a mediaAdapter) Check(url string, f im.MediaFile) error {
	return mediaErr(a.st.Check(url, media.File(f)))
}

// mediaErr wraps a media error in the im sentinel of its reason code.
func mediaErr(err error) error {
	var to error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, media.ErrTooLarge):
		to = im.ErrTooLarge
	case errors.Is(err, media.ErrQuota):
		to = im.ErrMediaQuota
	case errors.Is(err, media.ErrBadRequest), errors.Is(err, media.ErrType):
		to = im.ErrBadMedia
	case errors.Is(err, media.ErrNotIssued), errors.Is(err, media.ErrBadSignature), errors.Is(err, media.ErrExpired):
		to = im.ErrMediaURL
	default: // ErrUnavailable, ErrClosed: details stay in the log
		to = im.ErrStorage
	}
	return fmt.Errorf("%w: %w", to, err)
}

// openMedia opens the media store of im.media (nil when off) and records it
// in p. The embedded store needs the admin listener, which serves it.
func (b *Broker) openMedia(log zerolog.Logger, p *imParts) error {
	cfg := b.cfg.IM.Media
	switch cfg.Backend {
	case media.BackendOff:
		return nil
	case media.BackendEmbedded:
		if !b.cfg.Admin.Enabled {
			b.log.Warn().Msg("im.media: the embedded store is off: it is served by the admin listener (admin.enabled: false)")
			return nil
		}
		base := func() string {
			if cfg.PublicURL != "" {
				return cfg.PublicURL
			}
			return media.BaseURL(b.Addr("admin"))
		}
		e, err := media.OpenEmbedded(cfg, filepath.Join(b.cfg.Node.DataDir, mediaDirName), base, nil, log)
		if err != nil {
			return fmt.Errorf("im.media: %w", err)
		}
		p.media, p.embedded = e, e
	case media.BackendS3:
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		s, err := media.OpenS3(ctx, cfg, nil, log)
		if err != nil {
			return fmt.Errorf("im.media: %w", err)
		}
		p.media = s
	}
	b.log.Info().Object(logfield.Config, cfg).Msg("media store open")
	return nil
}

// mountMedia serves the embedded media store on the admin listener (PUT and
// GET under /media/, authorised by the URL signature). Call it from newAdmin.
func mountMedia(b *Broker) error {
	if b.im == nil || b.im.embedded == nil {
		return nil
	}
	h := mediaHandler(b.im.embedded, b.rootLog)
	for _, m := range []string{"PUT ", "GET "} {
		if err := b.admin.HandleSigned(m+media.PathPrefix, h); err != nil {
			return err
		}
	}
	return nil
}
