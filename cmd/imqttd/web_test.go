package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/imqtt/imqtt/web"
)

// webNode starts imqttd with password users, the IM server (bodies up to 1000
// bytes), a WebSocket listener and the admin listener (which serves /web/).
func webNode(t *testing.T) *node {
	t.Helper()
	dir := t.TempDir()
	pki := newTestPKI(t)
	passwd, aclFile := writeIMUsers(t, dir)
	cfg := writeFile(t, dir, "imqttd.yaml", fmt.Sprintf(`
node: {id: web1, data_dir: %[1]s/data}
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: true, address: "127.0.0.1:0"}
  wss:
    enabled: true
    address: "127.0.0.1:0"
    tls: {cert_file: %[4]s, key_file: %[5]s}
auth: {password_file: %[2]s}
acl: {file: %[3]s}
admin: {enabled: true, address: "127.0.0.1:0"}
cluster: {bind_addr: "127.0.0.1:0"}
im:
  max_body_bytes: 1000
  rate_limit: {messages_per_second: 0}
`, dir, passwd, aclFile, pki.certFile, pki.keyFile))
	return startNode(t, dir, "--config", cfg)
}

// browser starts a headless Chromium (Debian's chromium, installed by
// .ci/run): one per user, so each page is the active tab of its own browser
// (screenshots of background tabs never complete).
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: .ci/run installs it (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1000, 760))
	opts = append(opts, extra...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Run(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// page is one browser tab signed in as a user.
type page struct {
	t     *testing.T
	ctx   context.Context
	user  string
	shots string
}

func (p *page) run(actions ...chromedp.Action) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", p.user, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func (p *page) eval(expr string, out any) {
	p.t.Helper()
	p.run(chromedp.Evaluate(expr, out))
}

// wait polls a JavaScript condition until it is true (15 s).
func (p *page) wait(what, expr string) {
	p.t.Helper()
	p.waitFor(what, expr, 15*time.Second)
}

// waitFor polls a JavaScript condition until it is true, at most d.
func (p *page) waitFor(what, expr string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		var ok bool
		p.eval(expr, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var dump string
			p.eval(`document.getElementById('messages').innerText + ' | error: ' + document.getElementById('error').innerText + ' | convs: ' + document.getElementById('convs').innerText`, &dump)
			p.t.Fatalf("%s: %s did not happen in %s (page: %s)", p.user, what, d, dump)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// await evaluates a JavaScript expression whose value is a promise and
// stores what it resolves to in out (JSON); a rejection fails the test.
func (p *page) await(what, expr string, out any) {
	p.t.Helper()
	p.run(chromedp.Evaluate(`window.testAwait = undefined; Promise.resolve(`+expr+`).then(v => { window.testAwait = {v: JSON.stringify(v)} }, e => { window.testAwait = {e: String(e)} }); true`, nil))
	p.wait(what, `window.testAwait !== undefined`)
	var r struct{ V, E string }
	p.eval(`window.testAwait`, &r)
	if r.E != "" {
		p.t.Fatalf("%s: %s: %s", p.user, what, r.E)
	}
	if err := json.Unmarshal([]byte(r.V), out); err != nil {
		p.t.Fatalf("%s: %s: %v (%q)", p.user, what, err, r.V)
	}
}

func (p *page) shot(name string) {
	p.t.Helper()
	var buf []byte
	p.run(chromedp.FullScreenshot(&buf, 100)) // quality 100: PNG
	if err := os.WriteFile(filepath.Join(p.shots, name+".png"), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) send(text string) {
	p.t.Helper()
	p.run(chromedp.SetValue("#text", text, chromedp.ByID), chromedp.Click("#send", chromedp.ByID))
}

func (p *page) openChat(peer string) {
	p.t.Helper()
	p.run(chromedp.SetValue("#peer", peer, chromedp.ByID), chromedp.Click("#open-chat", chromedp.ByID))
}

func (p *page) clickConv(conv string) {
	p.t.Helper()
	p.wait("conversation "+conv+" listed", fmt.Sprintf(`!!document.querySelector('#convs li[data-conv=%q]')`, conv))
	// The list is redrawn on every event: click in one step, not query then click.
	p.run(chromedp.Evaluate(fmt.Sprintf(`document.querySelector('#convs li[data-conv=%q]').click()`, conv), nil))
}

// lastMark is the state of the newest own message's mark.
const lastMark = `(() => { const m = [...document.querySelectorAll('#messages li.mine .mark')].pop(); return m ? m.dataset.state : '' })()`

func signIn(t *testing.T, base, user, shots string) *page {
	t.Helper()
	return signInAt(t, browser(t), base+"/web/", user, shots)
}

func signInAt(t *testing.T, ctx context.Context, url, user, shots string) *page {
	t.Helper()
	p := &page{t: t, ctx: ctx, user: user, shots: shots}
	p.run(chromedp.Navigate(url))
	p.wait("the broker URL", `document.getElementById('broker').value.startsWith('ws')`)
	p.run(chromedp.SetValue("#user", user, chromedp.ByID), chromedp.SetValue("#pass", user+"-pw", chromedp.ByID))
	if user == "alice" {
		p.shot("01-sign-in")
	}
	p.run(chromedp.Click("#login-btn", chromedp.ByID))
	p.wait("signed in", `!document.getElementById('app').hidden && document.getElementById('status').textContent === 'online'`)
	return p
}

// TestWebClient drives the web chat client (web/) in headless Chromium against
// a real imqttd: alice and bob chat and see sent -> delivered -> read; bob goes
// offline, alice sends 20 messages, bob comes back and gets all 20 in order
// (sync); a group of three; a mosquitto_pub (3.1.1) message reaches bob's page;
// an empty message, an oversized one and a group alice is not in show the
// server's reason. Screenshots go to $IMQTT_SCREENSHOT_DIR (or a temp dir,
// logged) and are described in docs/web.md.
func TestWebClient(t *testing.T) {
	n := webNode(t)
	base := "http://" + n.addr("admin")
	shots := os.Getenv("IMQTT_SCREENSHOT_DIR")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "imqtt-web-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	alice := signIn(t, base, "alice", shots)
	bob := signIn(t, base, "bob", shots)

	// Chat with receipts.
	alice.openChat("bob")
	alice.send("hello bob")
	alice.wait("the server ack", lastMark+` !== 'pending'`)
	bob.wait("unread count 1", `(document.querySelector('#convs li[data-conv="d:alice:bob"] .unread')||{}).textContent === '1'`)
	bob.shot("02-unread")
	alice.wait("delivered mark", lastMark+` === 'delivered'`)
	alice.shot("03-delivered")
	bob.clickConv("d:alice:bob")
	bob.wait("the message", `document.getElementById('messages').innerText.includes('hello bob')`)
	alice.wait("read mark", lastMark+` === 'read'`)
	alice.wait("presence of bob", `document.getElementById('peer-presence').textContent === 'online'`)
	alice.shot("04-read")

	// bob goes offline; alice sends 20; bob comes back and syncs.
	bob.run(chromedp.Click("#offline", chromedp.ByID))
	bob.wait("offline", `document.getElementById('status').textContent === 'offline'`)
	alice.wait("bob shown offline", `document.getElementById('peer-presence').textContent.startsWith('last seen')`)
	alice.shot("05-peer-offline")
	var want []string
	for i := 1; i <= 20; i++ {
		msg := fmt.Sprintf("while you were away %d", i)
		want = append(want, msg)
		alice.send(msg)
	}
	alice.wait("20 acks", `[...document.querySelectorAll('#messages li.mine .mark')].filter(m => m.dataset.state !== 'pending').length === 21`)
	bob.run(chromedp.Click("#online", chromedp.ByID))
	bob.wait("online again", `document.getElementById('status').textContent === 'online'`)
	bob.wait("21 messages", `document.querySelectorAll('#messages li.msg').length === 21`)
	var got []string
	bob.eval(`[...document.querySelectorAll('#messages li.msg .body')].map(e => e.textContent)`, &got)
	if strings.Join(got[1:], "\n") != strings.Join(want, "\n") || got[0] != "hello bob" {
		t.Fatalf("bob after sync sees %q, want hello bob and the 20 in order", got)
	}
	bob.shot("06-after-sync")

	// A group of three.
	carol := signIn(t, base, "carol", shots)
	alice.run(chromedp.SetValue("#group-name", "team", chromedp.ByID), chromedp.SetValue("#group-users", "bob, carol", chromedp.ByID),
		chromedp.Click("#create-group", chromedp.ByID))
	alice.wait("the group open", `S.current.startsWith('g:')`)
	var conv string
	alice.eval(`S.current`, &conv)
	alice.send("hi team")
	for _, p := range []*page{bob, carol} {
		p.clickConv(conv)
		p.wait("the group message", `document.getElementById('messages').innerText.includes('hi team')`)
	}
	carol.send("hi from carol")
	alice.wait("carol's reply", `document.getElementById('messages').innerText.includes('hi from carol')`)
	bob.wait("carol's reply", `document.getElementById('messages').innerText.includes('hi from carol')`)
	// Groups are listed and titled by name, not by id; messages show their
	// time under a day separator.
	for _, p := range []*page{alice, bob, carol} {
		p.wait("the group listed by name", fmt.Sprintf(`(document.querySelector('#convs li[data-conv=%q] .name')||{}).textContent === 'team'`, conv))
		p.wait("the group titled by name", `document.getElementById('chat-title').textContent === 'team'`)
	}
	carol.wait("message times", `[...document.querySelectorAll('#messages li.msg')].filter(li => !li.classList.contains('notice')).every(li => /\d/.test((li.querySelector('time.ts')||{}).textContent||''))`)
	carol.wait("a day separator", `document.querySelector('#messages li.day') !== null && document.querySelector('#messages li.day').textContent.length > 0`)
	alice.shot("07-group")

	// Display names: carol and alice name themselves on their pages; the
	// others see the names on carol's group messages (the profile event) and
	// in bob's conversation list and chat title.
	carol.run(chromedp.SetValue("#display-name", "Carol C.", chromedp.ByID), chromedp.Click("#save-profile", chromedp.ByID))
	carol.wait("her name shown", `document.getElementById('me').textContent === 'Carol C. (carol)'`)
	for _, p := range []*page{alice, bob} {
		p.wait("carol's display name on her message", `[...document.querySelectorAll('#messages li.msg .from')].some(f => f.textContent === 'Carol C.')`)
	}
	alice.run(chromedp.SetValue("#display-name", "Alice A.", chromedp.ByID), chromedp.Click("#save-profile", chromedp.ByID))
	bob.wait("alice's display name in the list", `(document.querySelector('#convs li[data-conv="d:alice:bob"] .name')||{}).textContent === 'Alice A.'`)
	bob.shot("07a-display-names")

	// A mention ("@bob" in the text) is highlighted for bob only; bob mutes
	// and pins the group.
	alice.send("@bob please look")
	bob.wait("the mention highlighted", `[...document.querySelectorAll('#messages li.msg.mentioned .body')].some(b => b.textContent === '@bob please look')`)
	carol.wait("the message, not highlighted for carol", `[...document.querySelectorAll('#messages li.msg .body')].some(b => b.textContent === '@bob please look') && !document.querySelector('#messages li.msg.mentioned')`)
	bob.run(chromedp.Click("#mute", chromedp.ByID))
	bob.wait("the group muted", fmt.Sprintf(`document.querySelector('#convs li[data-conv=%q]').dataset.muted === 'true' && document.getElementById('mute').textContent === 'Unmute'`, conv))
	bob.run(chromedp.Click("#pin", chromedp.ByID))
	bob.wait("the group pinned first", fmt.Sprintf(`document.querySelector('#convs li').dataset.conv === %q && document.querySelector('#convs li').dataset.pinned === 'true'`, conv))
	bob.shot("07b-mention-muted-pinned")

	// Edit, reaction and recall in the direct chat, seen on the other page.
	alice.clickConv("d:alice:bob")
	bob.clickConv("d:alice:bob")
	const msgLi = `[...document.querySelectorAll('#messages li.msg')].find(li => (li.querySelector('.body')||{}).textContent === %q)`
	alice.run(chromedp.Evaluate(fmt.Sprintf(msgLi+`.querySelector('button.edit').click()`, "hello bob"), nil))
	alice.wait("editing", `!document.getElementById('editing').hidden`)
	alice.send("hello bob, edited")
	for _, p := range []*page{alice, bob} {
		p.wait("the edited message", fmt.Sprintf(`!!%s && !!%s.querySelector('.edited')`, fmt.Sprintf(msgLi, "hello bob, edited"), fmt.Sprintf(msgLi, "hello bob, edited")))
	}
	bob.run(chromedp.Evaluate(fmt.Sprintf(msgLi+`.querySelector('button.react').click()`, "hello bob, edited"), nil))
	for _, p := range []*page{alice, bob} {
		p.wait("the reaction", fmt.Sprintf(`(%s.querySelector('button.reaction')||{}).textContent === '👍 1'`, fmt.Sprintf(msgLi, "hello bob, edited")))
	}
	alice.run(chromedp.Evaluate(fmt.Sprintf(msgLi+`.querySelector('button.recall').click()`, "while you were away 20"), nil))
	for _, p := range []*page{alice, bob} {
		p.wait("the recalled message", fmt.Sprintf(`!%s && document.querySelectorAll('#messages li.msg.recalled').length === 1`, fmt.Sprintf(msgLi, "while you were away 20")))
	}
	bob.shot("07c-edit-react-recall")

	// An image picked in alice's page is uploaded to the embedded media
	// store (rpc upload, PUT to the signed URL), sent, and shown on both
	// pages from its signed URL (the browser really fetched and decoded it).
	pic := filepath.Join(t.TempDir(), "dot.png")
	writeTestPNG(t, pic, 64, 48)
	alice.run(chromedp.SetUploadFiles("#file", []string{pic}, chromedp.ByID))
	for _, p := range []*page{alice, bob} {
		p.wait("the image shown", `[...document.querySelectorAll('#messages li.msg .media img.image')].some(i => i.alt === 'dot.png' && i.complete && i.naturalWidth === 64 && i.naturalHeight === 48)`)
	}
	bob.shot("07d-image")

	// A script's message (mosquitto_pub, MQTT 3.1.1) appears in bob's page.
	host, port := hostPort(t, n.addr("tcp"))
	if out, err := runCmd(t, 10*time.Second, nil, "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "dave", "-P", "dave-pw", "-i", "dave-script", "-q", "1", "-t", "im/send/user/bob",
		"-m", `{"cid":"script-1","body":"sent from a shell script"}`); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	bob.clickConv("d:bob:dave")
	bob.wait("dave's message", `document.getElementById('messages').innerText.includes('sent from a shell script')`)
	bob.shot("08-from-script")

	// Scrolling back: 60 messages (one mosquitto_pub -l, a line each) reach
	// eve's page; the page is reloaded (its sync cursor survives, its
	// messages do not), the conversation shows the last page of history and
	// scrolling to the top loads the rest, in order.
	eve := signIn(t, base, "eve", shots)
	var lines strings.Builder
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&lines, `{"cid":"scroll-%d","body":"line %d"}`+"\n", i, i)
	}
	if out, err := runCmd(t, 20*time.Second, strings.NewReader(lines.String()), "mosquitto_pub", "-V", "mqttv311", "-h", host, "-p", port,
		"-u", "dave", "-P", "dave-pw", "-i", "dave-lines", "-q", "1", "-t", "im/send/user/eve", "-l"); err != nil {
		t.Fatalf("mosquitto_pub -l: %v: %s", err, out)
	}
	eve.wait("60 messages live", `S.convs.has('d:dave:eve') && S.convs.get('d:dave:eve').msgs.size === 60`)
	eve.run(chromedp.Reload())
	eve.wait("the broker URL again", `document.getElementById('broker').value.startsWith('ws')`)
	eve.run(chromedp.SetValue("#user", "eve", chromedp.ByID), chromedp.SetValue("#pass", "eve-pw", chromedp.ByID), chromedp.Click("#login-btn", chromedp.ByID))
	eve.wait("signed in again", `document.getElementById('status').textContent === 'online'`)
	eve.clickConv("d:dave:eve")
	eve.wait("the last page", `document.querySelectorAll('#messages li.msg').length === 50`)
	eve.run(chromedp.Evaluate(`document.getElementById('messages').scrollTop = 0`, nil))
	eve.wait("all 60 after scrolling back", `document.querySelectorAll('#messages li.msg').length === 60`)
	var scrolled []string
	eve.eval(`[...document.querySelectorAll('#messages li.msg .body')].map(e => e.textContent)`, &scrolled)
	for i, b := range scrolled {
		if b != fmt.Sprintf("line %d", i+1) {
			t.Fatalf("after scrolling back message %d is %q (all: %q)", i+1, b, scrolled)
		}
	}
	eve.shot("08b-scrolled-back")

	// Bad input shows the server's reason.
	alice.clickConv("d:alice:bob")
	alice.run(chromedp.Evaluate(`document.getElementById('text').value = ''`, nil), chromedp.Click("#send", chromedp.ByID))
	alice.wait("the reason for an empty message", `document.getElementById('error').textContent.includes('invalid payload')`)
	alice.shot("09-empty-refused")
	alice.send(strings.Repeat("x", 1200))
	alice.wait("the reason for an oversized message", `document.getElementById('error').textContent.includes('too large')`)
	alice.shot("10-too-large")
	carol.run(chromedp.SetValue("#group-name", "secret", chromedp.ByID), chromedp.SetValue("#group-users", "dave", chromedp.ByID),
		chromedp.Click("#create-group", chromedp.ByID))
	carol.wait("the secret group open", `S.current.startsWith('g:') && S.current !== `+fmt.Sprintf("%q", conv))
	var secret string
	carol.eval(`S.current.slice(2)`, &secret)
	alice.run(chromedp.SetValue("#group-id", secret, chromedp.ByID), chromedp.Click("#open-group", chromedp.ByID))
	alice.send("let me in")
	alice.wait("the reason for a forbidden group", `document.getElementById('error').textContent.includes('not a member')`)
	alice.wait("the failed mark", lastMark+` === 'failed'`)
	alice.shot("11-forbidden-group")
	var joinErr string
	alice.run(chromedp.Click("#join-btn", chromedp.ByID))
	alice.wait("the join refusal", `document.getElementById('error').textContent.includes('cannot join')`)
	alice.eval(`document.getElementById('error').textContent`, &joinErr)
	if !strings.Contains(joinErr, "not a member") {
		t.Fatalf("join refusal shows %q", joinErr)
	}

	// The same page over WSS (the broker URL given as a parameter, as when the
	// files are hosted elsewhere; the test CA is not in Chromium's store).
	wss := "wss://" + n.addr("wss") + "/mqtt"
	erin := signInAt(t, browser(t, chromedp.Flag("ignore-certificate-errors", true)),
		base+"/web/?broker="+wss, "erin", shots)
	erin.openChat("alice")
	erin.send("hello over wss")
	erin.wait("the ack over wss", lastMark+` === 'sent' || `+lastMark+` === 'delivered' || `+lastMark+` === 'read'`)
	alice.clickConv("d:alice:erin")
	alice.wait("erin's message", `document.getElementById('messages').innerText.includes('hello over wss')`)
	resp, err := http.Get(base + "/web/config.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["wss"] != wss || !strings.HasPrefix(cfg["ws"], "ws://") {
		t.Fatalf("config.json %v, want ws and %s", cfg, wss)
	}

	webOutboxAcrossReload(t, shots)
}

// webOutboxAcrossReload: the page's outbox is the SDK's, in IndexedDB. On a
// node of its own (fixed WebSocket port, restarted on the same data
// directory) with the page hosted elsewhere (web.Handler on a test server,
// so it loads while the broker is down) and without crypto.subtle (as on a
// plain http:// page on a LAN address; noSubtle): the node is killed, dave types a
// message (pending), reloads the page while the broker is still down, the
// node comes back, dave signs in again and the SDK sends the message from
// the outbox: erin's page (which reconnects by itself) shows it once, and
// the conversation's log holds it once.
func webOutboxAcrossReload(t *testing.T, shots string) {
	t.Helper()
	dir := t.TempDir()
	passwd, aclFile := writeIMUsers(t, dir)
	wsAddr := freePort(t)
	cfg := writeFile(t, dir, "imqttd.yaml", fmt.Sprintf(`
node: {id: web2, data_dir: %[1]s/data}
listeners:
  tcp: {enabled: true, address: "127.0.0.1:0"}
  ws: {enabled: true, address: %[4]q}
auth: {password_file: %[2]s}
acl: {file: %[3]s}
admin: {enabled: true, address: "127.0.0.1:0"}
cluster: {bind_addr: "127.0.0.1:0"}
`, dir, passwd, aclFile, wsAddr))
	n := startNode(t, dir, "--config", cfg)
	site := httptest.NewServer(noSubtle(web.Handler("/web/", web.Config{WS: func(*http.Request) string { return "ws://" + wsAddr + "/mqtt" }})))
	t.Cleanup(site.Close)
	dave := signInAt(t, browser(t), site.URL+"/web/", "dave", shots)
	erin := signInAt(t, browser(t), site.URL+"/web/", "erin", shots)
	var subtle bool
	dave.eval(`!!(window.crypto && window.crypto.subtle)`, &subtle)
	if subtle {
		t.Fatal("dave's page has crypto.subtle: noSubtle did not hide it")
	}
	dave.openChat("erin")
	dave.send("before the outage")
	dave.wait("the ack", lastMark+` === 'sent' || `+lastMark+` === 'delivered'`)
	erin.clickConv("d:dave:erin")
	erin.wait("the first message", `document.getElementById('messages').innerText.includes('before the outage')`)

	n.kill()
	dave.wait("the connection lost", `document.getElementById('status').textContent !== 'online'`)
	const text = "typed while the broker was down"
	dave.send(text)
	dave.wait("the message pending", lastMark+` === 'pending'`)
	var outbox []struct{ CID, Topic, Payload string }
	dave.await("the outbox", `S.im.outbox()`, &outbox)
	if len(outbox) != 1 || outbox[0].Topic != "im/send/user/erin" || !strings.Contains(outbox[0].Payload, text) {
		t.Fatalf("dave's outbox before the reload: %+v", outbox)
	}
	dave.run(chromedp.Reload())
	dave.wait("the sign-in form again", `!document.getElementById('login').hidden && document.getElementById('broker').value.startsWith('ws')`)

	startNode(t, dir, "--config", cfg) // same data directory and WebSocket port
	dave.run(chromedp.SetValue("#user", "dave", chromedp.ByID), chromedp.SetValue("#pass", "dave-pw", chromedp.ByID), chromedp.Click("#login-btn", chromedp.ByID))
	dave.wait("signed in again", `document.getElementById('status').textContent === 'online'`)
	dave.clickConv("d:dave:erin")
	const copies = `[...document.querySelectorAll('#messages li.msg .body')].filter(b => b.textContent === %q).length`
	dave.wait("the message sent from the outbox", fmt.Sprintf(copies, text)+` === 1 && `+lastMark+` !== 'pending' && `+lastMark+` !== 'failed'`)
	dave.await("the outbox emptied", `S.im.outbox()`, &outbox)
	if len(outbox) != 0 {
		t.Fatalf("dave's outbox after the re-send: %+v", outbox)
	}
	// erin's page reconnects with backoff (up to 30 s between attempts).
	erin.waitFor("the message after the outage", fmt.Sprintf(copies, text)+` >= 1`, 45*time.Second)
	erin.wait("online again", `document.getElementById('status').textContent === 'online'`)
	var hist struct{ Messages []struct{ Body string } }
	erin.await("the history", `S.im.history('d:dave:erin', {limit: 50})`, &hist)
	var bodies []string
	for _, m := range hist.Messages {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, "|") != "before the outage|"+text {
		t.Fatalf("the log after the outage holds %q, want each message once", bodies)
	}
	var onPage int
	erin.eval(fmt.Sprintf(copies, text), &onPage)
	if onPage != 1 {
		t.Fatalf("erin's page shows the message %d times", onPage)
	}
	dave.shot("12-outbox-after-reload")
}

// noSubtle serves h's pages with a script, before the SDK's, that hides
// crypto.subtle as a browser does outside a secure context (a plain http://
// page on a LAN address): the SDK's ids need only crypto.getRandomValues.
func noSubtle(h http.Handler) http.Handler {
	const hide = `<script>Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined})</script>`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/") && !strings.HasSuffix(r.URL.Path, ".html") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := strings.Replace(rec.Body.String(), `<script src="imqtt.js">`, hide+`<script src="imqtt.js">`, 1)
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write([]byte(body))
	})
}

// writeTestPNG writes a w x h PNG (a colour gradient) to path.
func writeTestPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 4), G: uint8(y * 5), B: 160, A: 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
