package broker

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/im/media"
	"github.com/imqtt/imqtt/internal/logfield"
)

// mediaHandler serves PUT and GET (and HEAD) of the embedded media store's
// signed URLs (im/media sign.go). Every refusal is a plain-text status:
// 403 bad signature, expired or foreign key; 413 too large or over quota;
// 400 body not matching the signed size or sha256; 415 Content-Type other
// than the signed mime; 404 not uploaded; 503 store failure.
func mediaHandler(e *media.Embedded, log zerolog.Logger) http.Handler {
	log = log.With().Str(logfield.Component, "media").Logger()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := media.ParseSigned(r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
		if err != nil {
			mediaRefuse(w, r, log, err)
			return
		}
		if s.Method == http.MethodPut {
			if r.Header.Get("Content-Type") != s.MIME {
				http.Error(w, "Content-Type must be the signed mime type", http.StatusUnsupportedMediaType)
				return
			}
			if err := e.Put(s, r.ContentLength, r.Body); err != nil {
				mediaRefuse(w, r, log, err)
				return
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		f, err := e.Open(s)
		if err != nil {
			mediaRefuse(w, r, log, err)
			return
		}
		defer func() { _ = f.Close() }()
		fi, err := f.Stat()
		if err != nil {
			mediaRefuse(w, r, log, media.ErrUnavailable)
			return
		}
		h := w.Header()
		h.Set("Content-Type", s.MIME)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "private, max-age=3600")
		h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})
}

// mediaRefuse answers a refused media request and logs why (at debug: the
// requests are unauthenticated).
func mediaRefuse(w http.ResponseWriter, r *http.Request, log zerolog.Logger, err error) {
	status := http.StatusServiceUnavailable
	switch {
	case errors.Is(err, media.ErrBadSignature), errors.Is(err, media.ErrExpired), errors.Is(err, media.ErrNotIssued):
		status = http.StatusForbidden
	case errors.Is(err, media.ErrTooLarge), errors.Is(err, media.ErrQuota):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, media.ErrChecksum):
		status = http.StatusBadRequest
	case errors.Is(err, media.ErrNotFound):
		status = http.StatusNotFound
	}
	ev := log.Debug()
	if status == http.StatusServiceUnavailable {
		ev = log.Error()
	}
	ev.Err(err).Str(logfield.Method, r.Method).Int(logfield.Code, status).Msg("media request refused")
	msg := err.Error()
	if status == http.StatusServiceUnavailable {
		msg = media.ErrUnavailable.Error()
	}
	http.Error(w, msg, status)
}
