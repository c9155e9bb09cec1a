package admin

import (
	"encoding/json"
	"net/http"
)

// Error codes in JSON error bodies.
const (
	codeUnauthorized = "unauthorized"
	// codeForbiddenHost: the Host header is not this listener's (403).
	codeForbiddenHost = "forbidden_host"
	// codeForbiddenOrigin: a cross-site request (403).
	codeForbiddenOrigin = "forbidden_origin"
	// codeUnsupportedMediaType: a state-changing request without a JSON
	// Content-Type (415).
	codeUnsupportedMediaType = "unsupported_media_type"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeBadRequest           = "bad_request"
	codeInternal             = "internal"
)

// errorBody is {"error":{"code":"...","message":"..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError writes the admin API's JSON error body with the given HTTP status.
// Handlers mounted with Handle should use it so that every error looks the same.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeError(w, status, code, message)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// WriteJSON writes v as a JSON response with the given HTTP status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"encode response"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// codeForStatus maps the mux's own error statuses to error codes.
func codeForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	case http.StatusBadRequest:
		return codeBadRequest
	default:
		return codeInternal
	}
}
