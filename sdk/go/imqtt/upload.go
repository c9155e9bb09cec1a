package imqtt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// UploadRequest describes a file to upload (docs/protocol.md "Media messages").
type UploadRequest struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Mime   string `json:"mime"`
	SHA256 string `json:"sha256"`
}

// UploadResult is where to PUT the bytes and the read URL for the message.
type UploadResult struct {
	PutURL     string            `json:"put_url"`
	PutHeaders map[string]string `json:"put_headers"`
	URL        string            `json:"url"`
	Expires    int64             `json:"expires"`
}

// Upload asks for an upload URL.
func (c *Client) Upload(ctx context.Context, r UploadRequest) (UploadResult, error) {
	var res UploadResult
	return res, c.call(ctx, "upload", r, &res)
}

// MediaBody is the body of a media message: send string(JSON()) with
// SendOptions{Type: "image" | "file" | "audio" | "video"}.
type MediaBody struct {
	URL      string `json:"url"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Mime     string `json:"mime"`
	SHA256   string `json:"sha256"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Duration int64  `json:"duration,omitempty"`
}

// JSON returns the body as the JSON text a media message carries.
func (m MediaBody) JSON() string {
	b, _ := json.Marshal(m) // plain fields: cannot fail
	return string(b)
}

// UploadFile hashes data, asks for an upload, PUTs the bytes with
// net/http and returns the body of the media message to send.
func (c *Client) UploadFile(ctx context.Context, data []byte, name, mime string) (MediaBody, error) {
	sum := sha256.Sum256(data)
	req := UploadRequest{Name: name, Size: int64(len(data)), Mime: mime, SHA256: hex.EncodeToString(sum[:])}
	up, err := c.Upload(ctx, req)
	if err != nil {
		return MediaBody{}, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPut, up.PutURL, bytes.NewReader(data))
	if err != nil {
		return MediaBody{}, fmt.Errorf("imqtt: upload %s: %w", name, err)
	}
	for k, v := range up.PutHeaders {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return MediaBody{}, fmt.Errorf("imqtt: upload %s: %w", name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return MediaBody{}, fmt.Errorf("imqtt: upload %s: PUT answered %s", name, resp.Status)
	}
	return MediaBody{URL: up.URL, Name: name, Size: req.Size, Mime: mime, SHA256: req.SHA256}, nil
}
