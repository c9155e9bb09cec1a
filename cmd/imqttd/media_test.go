package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// mediaFile is random content with its digest.
func mediaFile(t *testing.T, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// httpDo sends one request and returns the status and body.
func httpDo(t *testing.T, method, u string, hdr map[string]string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	cl := &http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// grant is an rpc upload response.
type grant struct {
	put     string
	headers map[string]string
	url     string
}

func uploadRPC(t *testing.T, c *imClient, name string, size int, mime, sha string) (grant, map[string]any) {
	t.Helper()
	r := c.rpc(t, "upload", map[string]any{"name": name, "size": size, "mime": mime, "sha256": sha})
	if r["ok"] != true {
		return grant{}, r
	}
	g := grant{put: r["put_url"].(string), url: r["url"].(string), headers: map[string]string{}}
	if h, ok := r["put_headers"].(map[string]any); ok {
		for k, v := range h {
			g.headers[k] = v.(string)
		}
	}
	return g, r
}

// sendMedia publishes a media message and returns the ack.
func sendMedia(t *testing.T, c *imClient, to, cid, typ string, body map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	c.publish(t, "im/send/user/"+to, map[string]any{"cid": cid, "type": typ, "body": string(b)}, nil)
	return c.await(t, "ack", func(m map[string]any) bool { return m["cid"] == cid })
}

// otherKey changes the last hex digit of the URL's key (before the query).
func otherKey(raw string) string {
	i := strings.IndexByte(raw, '?') - 1
	c := byte('0')
	if raw[i] == '0' {
		c = '1'
	}
	return raw[:i] + string(c) + raw[i+1:]
}

// tamper flips one character of the URL's signature parameter.
func tamper(t *testing.T, raw, param string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	s := []byte(q.Get(param))
	if len(s) == 0 {
		t.Fatalf("no %s in %s", param, raw)
	}
	if s[0] == 'A' {
		s[0] = 'B'
	} else {
		s[0] = 'A'
	}
	q.Set(param, string(s))
	u.RawQuery = q.Encode()
	return u.String()
}

// mediaScenario runs the media flow on n: alice uploads an image, sends it to
// bob, bob fetches it with the signed URL from the envelope; a tampered
// signature, a URL this server did not issue, an oversize upload and a mime
// outside the allow-list are refused; the read URL stops working after
// get_expiry (expiry). sigParam is the URL's signature parameter.
func mediaScenario(t *testing.T, n *node, sigParam string, expiry time.Duration) {
	alice := imConnect(t, n, "alice", "alice-phone")
	bob := imConnect(t, n, "bob", "bob-phone")

	data, sha := mediaFile(t, 200<<10)
	g, r := uploadRPC(t, alice, "cat.png", len(data), "image/png", sha)
	if r["ok"] != true {
		t.Fatalf("upload: %v", r)
	}
	if code, body := httpDo(t, http.MethodPut, g.put, g.headers, data); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	ack := sendMedia(t, alice, "bob", "m1", "image", map[string]any{
		"url": g.url, "name": "cat.png", "size": len(data), "mime": "image/png", "sha256": sha, "width": 640, "height": 480})
	if ack["ok"] != true {
		t.Fatalf("image send: %v", ack)
	}
	m := bob.await(t, "msg", func(m map[string]any) bool { return m["type"] == "image" })
	var body map[string]any
	if err := json.Unmarshal([]byte(m["body"].(string)), &body); err != nil {
		t.Fatalf("image body %q: %v", m["body"], err)
	}
	if body["url"] != g.url || body["sha256"] != sha || body["width"] != float64(640) {
		t.Fatalf("image body: %v", body)
	}
	code, got := httpDo(t, http.MethodGet, body["url"].(string), nil, nil)
	if code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("bob GET: %d, %d bytes (want %d equal)", code, len(got), len(data))
	}
	if code, _ := httpDo(t, http.MethodGet, tamper(t, g.url, sigParam), nil, nil); code != http.StatusForbidden {
		t.Fatalf("GET with a tampered signature: %d, want 403", code)
	}

	// A url the store did not issue, and one issued for other content.
	for i, u := range []string{"https://evil.example/x.png", otherKey(g.url)} {
		ack := sendMedia(t, alice, "bob", "bad"+string(rune('a'+i)), "image", map[string]any{
			"url": u, "name": "x.png", "size": len(data), "mime": "image/png", "sha256": sha})
		if ack["ok"] == true || num(t, ack, "code") != 0x87 {
			t.Fatalf("foreign url %d: %v, want 0x87", i, ack)
		}
	}
	_, other := mediaFile(t, 10)
	ack = sendMedia(t, alice, "bob", "badsha", "image", map[string]any{
		"url": g.url, "name": "cat.png", "size": len(data), "mime": "image/png", "sha256": other})
	if ack["ok"] == true || num(t, ack, "code") != 0x87 {
		t.Fatalf("url with another sha256: %v, want 0x87", ack)
	}
	// Type and mime disagree; malformed body.
	ack = sendMedia(t, alice, "bob", "badtype", "video", map[string]any{
		"url": g.url, "name": "cat.png", "size": len(data), "mime": "image/png", "sha256": sha})
	if ack["ok"] == true || num(t, ack, "code") != 0x99 {
		t.Fatalf("video with an image mime: %v, want 0x99", ack)
	}
	// Oversize and a type outside the allow-list are refused at upload.
	if _, r := uploadRPC(t, alice, "big.bin", 2<<20, "application/octet-stream", sha); r["ok"] == true || num(t, r, "code") != 0x97 {
		t.Fatalf("oversize upload: %v, want 0x97", r)
	}
	if _, r := uploadRPC(t, alice, "x.html", 10, "text/html", sha); r["ok"] == true || num(t, r, "code") != 0x99 {
		t.Fatalf("text/html upload: %v, want 0x99", r)
	}

	// The same over MQTT 3.1.1 with the mosquitto clients: upload with a
	// reply_to, PUT, send; bob gets the file message.
	mosquittoMedia(t, n, bob)

	// The read URL expires (get_expiry): poll until refused.
	deadline := time.Now().Add(expiry + 15*time.Second)
	for {
		code, _ := httpDo(t, http.MethodGet, g.url, nil, nil)
		if code == http.StatusForbidden {
			break
		}
		if code != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("GET after expiry: %d, want 403 within %s", code, expiry+15*time.Second)
		}
		time.Sleep(200 * time.Millisecond) // polling an expiry, not synchronising
	}
}

// TestMediaEmbedded is the media scenario on the embedded store, plus the
// HTTP refusals: a PUT body above the signed size or with other content,
// and path traversal attempts.
func TestMediaEmbedded(t *testing.T) {
	n := imNode(t, "  media: {max_size: 1048576, get_expiry: 4s}\n")
	mediaScenario(t, n, "s", 4*time.Second)

	alice := imConnect(t, n, "alice", "alice-tablet")
	data, sha := mediaFile(t, 1000)
	g, r := uploadRPC(t, alice, "a.txt", len(data), "text/plain", sha)
	if r["ok"] != true {
		t.Fatalf("upload: %v", r)
	}
	if code, _ := httpDo(t, http.MethodPut, g.put, g.headers, append(data, 'x')); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT above the signed size: %d, want 413", code)
	}
	other := bytes.Clone(data)
	other[0] ^= 1
	if code, _ := httpDo(t, http.MethodPut, g.put, g.headers, other); code != http.StatusBadRequest {
		t.Fatalf("PUT with other content: %d, want 400", code)
	}
	if code, _ := httpDo(t, http.MethodPut, g.put, map[string]string{"Content-Type": "image/png"}, data); code != http.StatusUnsupportedMediaType {
		t.Fatalf("PUT with another Content-Type: %d, want 415", code)
	}
	if code, _ := httpDo(t, http.MethodGet, g.url, nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET before a good PUT: %d, want 404", code)
	}
	if code, _ := httpDo(t, http.MethodPut, g.put, g.headers, data); code != http.StatusOK {
		t.Fatalf("good PUT: %d", code)
	}
	u, _ := url.Parse(g.url)
	base := "http://" + n.addr("admin")
	for _, p := range []string{
		"/media/../imqttd.yaml?" + u.RawQuery,
		"/media/%2e%2e/%2e%2e/imqttd.yaml?" + u.RawQuery,
		"/media/..%2f..%2fimqttd.yaml?" + u.RawQuery,
		"/media/" + strings.Replace(strings.TrimPrefix(u.Path, "/media/"), "/", "%2f..%2f", 1) + "?" + u.RawQuery,
		"/media/media.secret?" + u.RawQuery,
	} {
		code, body := httpDo(t, http.MethodGet, base+p, nil, nil)
		if code == http.StatusOK || bytes.Contains(body, []byte("node:")) {
			t.Fatalf("GET %s: %d %q", p, code, body)
		}
	}
}

// mosquittoMedia uploads and sends a file as alice with mosquitto_pub and
// mosquitto_sub (MQTT 3.1.1; reply_to in the payload) and checks bob gets it.
func mosquittoMedia(t *testing.T, n *node, bob *imClient) {
	t.Helper()
	host, port := hostPort(t, n.addr("tcp"))
	data, sha := mediaFile(t, 3000)
	wait := startMosquittoSub(t, "-V", "mqttv311", "-h", host, "-p", port, "-u", "alice", "-P", "alice-pw",
		"-i", "alice-m311", "-q", "1", "-C", "1", "-W", "15", "-t", "im/u/alice/rpc/m311")
	wait("SUBACK")
	req := fmt.Sprintf(`{"rid":"m311","reply_to":"im/u/alice/rpc/m311","name":"notes.txt","size":%d,"mime":"text/plain","sha256":%q}`, len(data), sha)
	if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "alice", "-P", "alice-pw", "-q", "1", "-t", "im/rpc/upload", "-m", req); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	out := wait(`"rid":"m311"`)
	var r map[string]any
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, `{"method":"upload"`); i >= 0 {
			if err := json.Unmarshal([]byte(line[i:]), &r); err != nil {
				t.Fatalf("upload response %q: %v", line, err)
			}
		}
	}
	if r["ok"] != true {
		t.Fatalf("3.1.1 upload: %s", out)
	}
	hdr := map[string]string{}
	for k, v := range r["put_headers"].(map[string]any) {
		hdr[k] = v.(string)
	}
	if code, body := httpDo(t, http.MethodPut, r["put_url"].(string), hdr, data); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	b, _ := json.Marshal(map[string]any{"url": r["url"], "name": "notes.txt", "size": len(data), "mime": "text/plain", "sha256": sha})
	msg, _ := json.Marshal(map[string]any{"cid": "m311", "type": "file", "body": string(b)})
	if o, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "alice", "-P", "alice-pw", "-q", "1", "-t", "im/send/user/bob", "-m", string(msg)); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	m := bob.await(t, "msg", func(m map[string]any) bool { return m["cid"] == "m311" })
	var body map[string]any
	if err := json.Unmarshal([]byte(m["body"].(string)), &body); err != nil || m["type"] != "file" {
		t.Fatalf("file message %v: %v", m, err)
	}
	if code, got := httpDo(t, http.MethodGet, body["url"].(string), nil, nil); code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("bob GET of the 3.1.1 upload: %d", code)
	}
}
