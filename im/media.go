package im

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Media message types: the body is a JSON object naming a file in the media
// store (docs/protocol.md "Media messages"), checked by the MediaStore.
const (
	TypeImage = "image"
	TypeFile  = "file"
	TypeAudio = "audio"
	TypeVideo = "video"
)

// MethodUpload is the rpc that grants an upload URL.
const MethodUpload = "upload"

// Bounds of a media body.
const (
	maxMediaURLLen   = 4096
	maxMediaDim      = 100_000          // width, height in pixels
	maxMediaDuration = 24 * 3600 * 1000 // ms
)

// MediaFile is a file to upload or that a media message names.
type MediaFile struct {
	Name   string
	Size   int64
	MIME   string
	SHA256 string
}

// MediaGrant is what rpc upload answers: PUT the bytes to PutURL with
// PutHeaders before Expires (unix ms), then send URL in the message.
type MediaGrant struct {
	PutURL     string            `json:"put_url"`
	PutHeaders map[string]string `json:"put_headers,omitempty"`
	URL        string            `json:"url"`
	Expires    int64             `json:"expires"`
}

// MediaStore is the blob store behind rpc upload and the media types
// (package im/media, adapted by the broker). Both methods are safe for
// concurrent use; errors wrap ErrBadMedia, ErrMediaURL, ErrTooLarge,
// ErrMediaQuota or ErrStorage.
type MediaStore interface {
	// Upload returns signed URLs for user's file; it may block on the
	// network (S3) until ctx is done.
	Upload(ctx context.Context, user string, f MediaFile) (MediaGrant, error)
	// Check reports whether url is a read URL the store issued for f. It
	// does not block.
	Check(url string, f MediaFile) error
}

// mediaBody is the body of a media message.
type mediaBody struct {
	URL      string `json:"url"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	MIME     string `json:"mime"`
	SHA256   string `json:"sha256"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Duration int64  `json:"duration,omitempty"` // ms
}

// isMediaType reports whether t is one of the media message types.
func isMediaType(t string) bool {
	return t == TypeImage || t == TypeFile || t == TypeAudio || t == TypeVideo
}

// decodeMediaBody decodes and checks the body of a media message of type typ:
// every field's syntax and the mime's top-level type against typ (file takes
// any). The store's limits and the url are checked by MediaStore.Check.
func decodeMediaBody(typ, body string) (mediaBody, error) {
	var m mediaBody
	if err := decodeObject([]byte(body), &m); err != nil {
		return m, fmt.Errorf("%w: media body: %w", ErrBadMedia, err)
	}
	switch {
	case m.URL == "" || len(m.URL) > maxMediaURLLen || !printable(m.URL):
		return m, fmt.Errorf("%w: url must be 1..%d bytes of printable UTF-8", ErrBadMedia, maxMediaURLLen)
	case m.Name == "" || len(m.Name) > 255 || !printable(m.Name):
		return m, fmt.Errorf("%w: name must be 1..255 bytes of printable UTF-8", ErrBadMedia)
	case m.Size < 1:
		return m, fmt.Errorf("%w: size must be at least 1", ErrBadMedia)
	case m.MIME == "" || len(m.MIME) > 127 || strings.Count(m.MIME, "/") != 1:
		return m, fmt.Errorf("%w: mime must be type/subtype", ErrBadMedia)
	case len(m.SHA256) != 64:
		return m, fmt.Errorf("%w: sha256 must be 64 hex digits", ErrBadMedia)
	case m.Width < 0 || m.Width > maxMediaDim || m.Height < 0 || m.Height > maxMediaDim:
		return m, fmt.Errorf("%w: width and height must be 0..%d", ErrBadMedia, maxMediaDim)
	case m.Duration < 0 || m.Duration > maxMediaDuration:
		return m, fmt.Errorf("%w: duration must be 0..%d ms", ErrBadMedia, maxMediaDuration)
	}
	if typ != TypeFile {
		if top, _, _ := strings.Cut(m.MIME, "/"); top != typ {
			return m, fmt.Errorf("%w: type %s needs a %s/* mime, not %s", ErrBadMedia, typ, typ, clip(m.MIME))
		}
	}
	return m, nil
}

// checkMedia validates the body of a media message and returns it
// re-encoded with only the known fields (the stored form).
func (s *Service) checkMedia(typ, body string) (string, error) {
	if s.opts.Media == nil {
		return "", fmt.Errorf("%w: media messages are off (im.media.backend)", ErrMediaOff)
	}
	m, err := decodeMediaBody(typ, body)
	if err != nil {
		return "", err
	}
	if err := s.opts.Media.Check(m.URL, MediaFile{Name: m.Name, Size: m.Size, MIME: m.MIME, SHA256: m.SHA256}); err != nil {
		return "", err
	}
	out, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInternal, err)
	}
	if len(out) > s.cfg.MaxBodyBytes {
		return "", fmt.Errorf("%w: media body of %d bytes above %d", ErrTooLarge, len(out), s.cfg.MaxBodyBytes)
	}
	return string(out), nil
}

// upload is rpc upload: {name, size, mime, sha256} -> MediaGrant.
func (s *Service) upload(ctx context.Context, user string, req *rpcRequest) (any, error) {
	if s.opts.Media == nil {
		return nil, fmt.Errorf("%w: uploads are off (im.media.backend)", ErrMediaOff)
	}
	if req.Name == "" || req.Size < 1 || req.MIME == "" || req.SHA256 == "" {
		return nil, fmt.Errorf("%w: name, size, mime and sha256 are required", ErrBadMedia)
	}
	g, err := s.opts.Media.Upload(ctx, user, MediaFile{Name: req.Name, Size: req.Size, MIME: req.MIME, SHA256: req.SHA256})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// mediaPreview is the push preview of a message: for a media message
// "[type] name", never its signed url (the push gateway is a third party).
func mediaPreview(typ, body string) string {
	if !isMediaType(typ) {
		return body
	}
	var m mediaBody
	_ = json.Unmarshal([]byte(body), &m)
	return "[" + typ + "] " + m.Name
}
