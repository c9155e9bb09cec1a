// imqtt web chat: the UI of docs/web.md on the JavaScript SDK (sdk/js, loaded
// as imqtt.js: global `imqtt`). The SDK speaks the protocol of docs/protocol.md
// (replies, cids, the outbox in IndexedDB, sync cursors, reconnects); this
// file keeps the page's state in `S` and redraws the DOM from it. No framework.
'use strict';

const $ = (id) => document.getElementById(id);

const S = {
  me: '',
  im: null, // the SDK client once signed in (null while offline on purpose)
  gen: 0, // which connect() the SDK's events belong to (see handlers)
  convs: new Map(), // conv -> {conv, kind, peer, group, name, last_seq, read, delivered, peer_read, peer_delivered, msgs: Map seq->env, pending: Map cid->{body, state, reason, type, media}}
  current: '',
  presence: new Map(), // user -> {status, last_seen}
  watching: new Set(), // users whose presence this connection watches
  names: new Map(), // user -> display name (profiles: conversations, group members, profile events)
  typingTimer: 0,
  lastTyping: 0,
};

// ---- start-up -------------------------------------------------------------

async function defaults() {
  const q = new URLSearchParams(location.search);
  let broker = q.get('broker') || '';
  if (!broker) {
    try {
      const cfg = await (await fetch('config.json')).json();
      broker = (location.protocol === 'https:' && cfg.wss) ? cfg.wss : (cfg.ws || cfg.wss || '');
    } catch (e) { /* served elsewhere: the user types the URL */ }
  }
  $('broker').value = broker;
  if (q.get('user')) $('user').value = q.get('user');
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  S.me = $('user').value.trim();
  connect();
});

// connect signs in with the SDK. The store is this browser's IndexedDB, one
// database per user: the device's client id, the sync cursors and the
// outbox survive a reload, and what was sent while offline goes out now.
async function connect() {
  $('login-error').textContent = '';
  const store = new imqtt.IndexedDBStore('imqtt-web-' + S.me);
  // Sends still in the outbox (from before a reload) show as pending; the
  // SDK re-sends them on connect and their acks come as events.
  try { for (const p of await imqtt.pendingSends(store, S.me)) restorePending(p); } catch (e) { /* no IndexedDB: the SDK says so */ }
  S.watching.clear();
  let im;
  try {
    im = await imqtt.connect({ url: $('broker').value, user: S.me, password: $('pass').value, protocolVersion: 5, store, on: handlers(++S.gen) });
  } catch (e) {
    const msg = 'cannot connect: ' + errText(e);
    if ($('app').hidden) $('login-error').textContent = msg; else { showError(msg); status('offline'); }
    return;
  }
  S.im = im;
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = S.me;
  status('online');
  try {
    const res = await im.conversations();
    for (const c of res.conversations || []) {
      upsertConv(c);
      if (c.peer) setName(c.peer, c.display_name);
    }
  } catch (e) { showError('conversations: ' + errText(e)); }
  try {
    const me = await im.getProfiles([S.me]);
    for (const p of me.profiles || []) setName(p.user, p.display_name);
  } catch (e) { showError('profile: ' + errText(e)); }
  for (const c of S.convs.values()) {
    if (c.peer) watchPresence(c.peer);
    receiptFor(c.conv); // for what arrived while signing in
  }
  render();
}

// handlers are the SDK's events the page follows (listening from before the
// first sync); those of a client closed on purpose ("Go offline": S.gen
// moved on) are ignored.
function handlers(gen) {
  const on = {
    message: onMessage,
    ack: onAck,
    receipt: onReceipt,
    typing: onTyping,
    notify: addNotice,
    prefs: (m) => { if (m.event === 'conversation') upsertConv({ conv: m.conv, settings: m.settings || {} }); },
    profile: (m) => setName(m.user, m.display_name),
    presence: (m) => S.presence.set(m.user, m),
    connection: onConnection,
    error: (e) => showError(errText(e)),
  };
  for (const [ev, f] of Object.entries(on)) on[ev] = (v) => { if (gen === S.gen) { f(v); render(); } };
  return on;
}

// onConnection shows the SDK's reconnects; connect() says 'online' first.
// 'failed': a reconnect was refused for good (a revoked token, a changed
// password): the SDK has closed the client (its outbox stays); sign in again.
function onConnection(ev) {
  if (!S.im) return;
  if (ev.state !== 'failed') { status(ev.state === 'connected' ? 'online' : ev.state); return; }
  S.im = null;
  S.gen++;
  status('offline');
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = 'signed out: ' + errText(ev.error);
}

// errText is an SDK error as the page shows it: the server's reason and code.
function errText(e) {
  if (e && e.reason !== undefined && e.code !== undefined) return e.reason + ' (code ' + e.code + ')';
  return (e && e.message) || String(e);
}

function status(s) { $('status').textContent = s; }

// ---- incoming -------------------------------------------------------------

// onMessage gets each envelope once, in seq order per conversation (the SDK
// drops duplicates and fills gaps with sync, also after a reconnect).
function onMessage(m) {
  addMessage(m);
  receiptFor(m.conv);
}

function upsertConv(c) {
  let cur = S.convs.get(c.conv);
  if (!cur) {
    cur = { conv: c.conv, msgs: new Map(), pending: new Map(), last_seq: 0, read: 0, delivered: 0, peer_read: 0, peer_delivered: 0 };
    S.convs.set(c.conv, cur);
  }
  for (const k of ['kind', 'peer', 'group', 'name', 'settings']) if (c[k] !== undefined) cur[k] = c[k];
  for (const k of ['last_seq', 'read', 'delivered', 'peer_read', 'peer_delivered']) if (c[k] !== undefined) cur[k] = Math.max(cur[k], c[k]);
  if (!cur.kind) Object.assign(cur, imqtt.parseConversation(S.me, c.conv)); // kind and peer or group
  return cur;
}

// EVENTS are log entries that change another message (docs/protocol.md "Edit,
// recall and reactions"): applied to their target, not shown as bubbles.
const EVENTS = new Set(['edit', 'recall', 'reaction']);

// applyEvent changes the message ev.target this page holds; a target it does
// not hold yet comes from history as it is now.
function applyEvent(c, ev) {
  const t = c.msgs.get(ev.target);
  if (!t || (c.applied && c.applied.has(ev.seq))) return;
  (c.applied = c.applied || new Set()).add(ev.seq);
  if (ev.type === 'edit' && !t.recalled) { t.body = ev.body; t.edited_ts = ev.ts; }
  if (ev.type === 'recall') { t.recalled = true; delete t.body; delete t.edited_ts; t.reactions = []; }
  if (ev.type === 'reaction' && !t.recalled) {
    const rs = t.reactions = t.reactions || [];
    let r = rs.find((x) => x.emoji === ev.emoji);
    if (!r) { r = { emoji: ev.emoji, count: 0, me: false }; rs.push(r); }
    r.count = Math.max(0, r.count + (ev.remove ? -1 : 1));
    if (ev.from === S.me) r.me = !ev.remove;
    t.reactions = rs.filter((x) => x.count > 0);
  }
}

function addMessage(env) {
  const c = upsertConv({ conv: env.conv });
  const old = c.msgs.get(env.seq);
  // history returns a message as it is now: keep what events did to the copy
  // held here only when it is newer.
  if (!(old && old.recalled && !env.recalled)) c.msgs.set(env.seq, env);
  if (EVENTS.has(env.type)) applyEvent(c, env);
  // A group's name travels in its created/renamed notices: the newest wins.
  const n = env.type === 'notice' && env.notice;
  if (n && n.name && (n.event === 'created' || n.event === 'renamed') && env.seq >= (c.nameSeq || 0)) {
    c.name = n.name;
    c.nameSeq = env.seq;
  }
  c.last_seq = Math.max(c.last_seq, env.seq);
  if (env.from === S.me) {
    c.read = Math.max(c.read, env.seq);
    if (env.cid) c.pending.delete(env.cid);
  }
  if (c.kind === 'direct') watchPresence(c.peer);
}

function addNotice(n) {
  showError('');
  $('status').textContent = 'notification from ' + n.from + ': ' + (n.title || '') + ' ' + (n.body || '');
}

// receiptFor tells the sender what this device did with conv: read when it is
// open, delivered otherwise.
function receiptFor(conv) {
  const c = S.convs.get(conv);
  if (!c || !S.im) return;
  const last = c.last_seq;
  const failed = (e) => showError('receipt: ' + errText(e));
  if (conv === S.current && c.read < last) { c.read = last; S.im.markRead(conv, last).catch(failed); }
  else if (c.delivered < last) { c.delivered = last; S.im.markDelivered(conv, last).catch(failed); }
}

// onAck: the sending device gets no copy of its own message (only the other
// devices do): the ack makes the pending message a message of the log. Acks
// come for live sends and for those the SDK re-sent from its outbox.
function onAck(a) {
  if (!a || !a.cid || !a.seq) return;
  const c = S.convs.get(a.conv) || [...S.convs.values()].find((x) => x.pending.has(a.cid));
  if (!c) return;
  const p = c.pending.get(a.cid);
  c.read = Math.max(c.read, a.seq);
  if (p) addMessage({ id: a.id, conv: a.conv, seq: a.seq, ts: a.ts, from: S.me, cid: a.cid, type: p.type || 'text', body: p.media || p.body, mentions: p.mentions });
}

// restorePending shows a send still in the SDK's outbox (not acknowledged
// yet, maybe from before a reload) as a pending message of its conversation.
function restorePending(p) {
  const c = upsertConv({ conv: p.conv });
  const media = MEDIA.has(p.type) ? p.body : undefined;
  if (!c.pending.has(p.cid)) c.pending.set(p.cid, { body: media ? '[' + p.type + ']' : p.body, state: 'pending', type: p.type, media, mentions: p.mentions });
}

function onReceipt(r) {
  const c = upsertConv({ conv: r.conv });
  if (r.user === S.me) {
    if (r.type === 'read') c.read = Math.max(c.read, r.seq);
    c.delivered = Math.max(c.delivered, r.seq);
    return;
  }
  if (r.type === 'read') c.peer_read = Math.max(c.peer_read, r.seq);
  c.peer_delivered = Math.max(c.peer_delivered, r.seq);
}

function onTyping(t) {
  if (t.conv !== S.current || t.from === S.me) return;
  $('typing').textContent = t.state === 'start' ? t.from + ' is typing…' : '';
  clearTimeout(S.typingTimer);
  S.typingTimer = setTimeout(() => { $('typing').textContent = ''; }, 4000);
}

// setName notes a user's display name ("" or undefined: none).
function setName(user, name) {
  if (!user) return;
  if (name) S.names.set(user, name); else S.names.delete(user);
  if (user === S.me) {
    $('me').textContent = name ? name + ' (' + S.me + ')' : S.me;
    if (document.activeElement !== $('display-name')) $('display-name').value = name || '';
  }
}

// nameOf is how a user is shown: their display name, else the user name.
function nameOf(user) { return S.names.get(user) || user; }

// loadMembers learns the display names of a group's members.
async function loadMembers(c) {
  if (!c.group || c.membersLoaded || !S.im) return;
  c.membersLoaded = true;
  try {
    const res = await S.im.members(c.group);
    for (const m of res.members || []) setName(m.user, m.display_name);
  } catch (e) { c.membersLoaded = false; /* not a member (yet): the send says why */ }
  render();
}

// watchPresence asks the SDK, once per connection, for user's presence. The
// server refuses it until the two share a conversation; the SDK keeps the user
// watched and subscribes again once a message or ack of their conversation
// comes, and after reconnects.
function watchPresence(user) {
  if (!user || !S.im || S.watching.has(user)) return;
  S.watching.add(user);
  if (!S.presence.has(user)) S.presence.set(user, { status: 'unknown' });
  S.im.watchPresence([user]).catch(() => { /* refused until a conversation is shared: the SDK retries */ });
}

// ---- actions --------------------------------------------------------------

// call runs an SDK call while signed in; refusals are shown with what.
async function call(what, f) {
  if (!S.im) { showError(what + ': offline'); return null; }
  try { return await f(S.im); } catch (e) { showError(what + ': ' + errText(e)); return null; }
}

function openConv(conv) {
  S.current = conv;
  showError('');
  $('typing').textContent = '';
  const c = upsertConv({ conv });
  if (c.peer) watchPresence(c.peer);
  if (c.kind === 'group') loadMembers(c);
  if (c.msgs.size === 0) loadOlder();
  receiptFor(conv);
  render();
}

async function loadOlder() {
  const c = S.convs.get(S.current);
  if (!c || c.loading || !S.im) return;
  c.loading = true;
  // Older messages go above: keep what the user looks at where it is.
  const ul = $('messages');
  S.keepScroll = ul.scrollHeight - ul.scrollTop;
  const opts = { limit: 50 };
  const seqs = [...c.msgs.keys()];
  if (seqs.length) opts.before = Math.min(...seqs);
  const res = await call('history', (im) => im.history(c.conv, opts));
  if (res) {
    for (const m of res.messages || []) addMessage(m);
    c.more = res.more;
    c.last_seq = Math.max(c.last_seq, res.last_seq || 0);
    receiptFor(c.conv);
  }
  c.loading = false;
  render();
}

// Scrolling to the top of the list loads the page before it (history).
$('messages').addEventListener('scroll', () => {
  const c = S.convs.get(S.current);
  if ($('messages').scrollTop === 0 && c && c.msgs.size && c.more !== false && Math.min(...c.msgs.keys()) > 1) loadOlder();
});

$('new-chat').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const peer = $('peer').value.trim();
  if (!peer) return;
  openConv(imqtt.conversationId(S.me, peer));
  $('peer').value = '';
});

$('new-group').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('group-name').value.trim();
  const users = $('group-users').value.split(',').map((u) => u.trim()).filter(Boolean);
  const res = await call('group not created', (im) => im.createGroup(name, users));
  if (!res) return;
  upsertConv({ conv: res.conv, kind: 'group', group: res.group, name });
  $('group-name').value = ''; $('group-users').value = '';
  openConv(res.conv);
});

$('join-group').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const res = await call('cannot join', (im) => im.join($('group-id').value.trim()));
  if (res) openConv(res.conv);
});

$('open-group').addEventListener('click', () => {
  const g = $('group-id').value.trim();
  if (g) openConv('g:' + g);
});

$('leave-group').addEventListener('click', async () => {
  const c = S.convs.get(S.current);
  if (!c || !c.group) return;
  if (await call('cannot leave', (im) => im.leave(c.group))) {
    S.convs.delete(c.conv);
    S.current = '';
  }
  render();
});

// The display name is this user's profile; every device and contact gets it
// as a profile event.
$('profile-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const res = await call('profile', (im) => im.setProfile({ display_name: $('display-name').value.trim() }));
  if (res) {
    setName(S.me, res.profile && res.profile.display_name);
    $('display-name').blur();
  }
  render();
});

$('load-older').addEventListener('click', loadOlder);
$('cancel-edit').addEventListener('click', () => { S.editing = null; $('text').value = ''; render(); });

$('compose').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const c = S.convs.get(S.current);
  if (!c) { showError('open a conversation first'); return; }
  const body = $('text').value;
  if (S.editing && S.editing.conv === c.conv) {
    const seq = S.editing.seq;
    S.editing = null;
    $('text').value = '';
    change('msg.edit', (im) => im.edit(c.conv, seq, body));
    return;
  }
  S.editing = null;
  const opts = {};
  // "@name" in a group message mentions that member ("@all": everyone).
  if (c.kind === 'group') {
    const names = [...body.matchAll(/(?:^|\s)@([A-Za-z0-9_.@-]{1,64})/g)].map((x) => x[1]);
    if (names.includes('all')) opts.mentions = 'all';
    else if (names.length) opts.mentions = [...new Set(names)];
  }
  // Everything goes to the server, which says what is wrong (empty, too
  // large, not a member): the page shows its reason.
  sendTo(c, body, opts, { body, mentions: opts.mentions });
  $('text').value = '';
});

// sendTo sends body to c with the SDK and shows it (shown) pending until the
// ack. The SDK keeps it in its outbox until then, across reconnects and
// reloads; a refusal marks it failed with the server's reason.
async function sendTo(c, body, opts, shown) {
  if (!S.im) { showError('offline: go online to send'); return; }
  const cid = imqtt.newCid(); // known before the ack: the message shows pending
  c.pending.set(cid, Object.assign({ state: 'pending' }, shown));
  render();
  try {
    onAck(await S.im.send(c.kind === 'group' ? { group: c.group } : { user: c.peer }, body, Object.assign({ cid }, opts)));
  } catch (e) {
    const p = c.pending.get(cid);
    if (p) { p.state = 'failed'; p.reason = e.reason || e.message; }
    showError('not sent: ' + errText(e));
  }
  render();
}

// Mute and pin are this user's settings of the open conversation.
$('mute').addEventListener('click', () => {
  const c = S.convs.get(S.current);
  if (c) setConv(c, { mute: !(c.settings && c.settings.mute) });
});
$('pin').addEventListener('click', () => {
  const c = S.convs.get(S.current);
  if (c) setConv(c, { pin: !(c.settings && c.settings.pin) });
});

async function setConv(c, set) {
  const res = await call('settings', (im) => im.setConversation(c.conv, set));
  if (res) c.settings = res.settings || {};
  render();
}

$('text').addEventListener('input', () => {
  const now = Date.now();
  if (!S.current || !S.im || now - S.lastTyping < 2000) return;
  S.lastTyping = now;
  S.im.typing(S.current, 'start').catch(() => { /* typing is best effort */ });
});

// "Go offline" closes the connection (the SDK keeps the outbox and cursors);
// "Go online" signs in again, and the SDK syncs what was missed.
$('offline').addEventListener('click', async () => {
  const im = S.im;
  S.im = null;
  S.gen++;
  $('offline').hidden = true; $('online').hidden = false;
  status('offline');
  if (im) await im.close();
});

$('online').addEventListener('click', () => {
  $('offline').hidden = false; $('online').hidden = true;
  connect();
});

function showError(msg) { $('error').textContent = msg; }

// ---- rendering ------------------------------------------------------------

// title is what the list and the header call a conversation: a group by its
// name (its id only until the name is known), a direct chat by the peer.
function title(c) {
  if (c.kind === 'group') return c.name || 'group ' + c.group;
  return nameOf(c.peer);
}

// dayOf and timeOf format a server timestamp (unix ms) in the browser's locale.
function dayOf(ts) { return new Date(ts).toLocaleDateString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' }); }
function timeOf(ts) { return new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }); }

function unread(c) { return Math.max(0, c.last_seq - c.read); }

function render() {
  const list = $('convs');
  list.replaceChildren();
  const pinned = (c) => (c.settings && c.settings.pin ? c.settings.pinned_at || 1 : 0);
  const convs = [...S.convs.values()].sort((a, b) => (pinned(a) && pinned(b) ? pinned(a) - pinned(b) : pinned(b) - pinned(a)) || title(a).localeCompare(title(b)));
  for (const c of convs) {
    const li = document.createElement('li');
    li.dataset.conv = c.conv;
    li.tabIndex = 0;
    li.setAttribute('aria-current', String(c.conv === S.current));
    const dot = document.createElement('span');
    dot.className = 'dot';
    if (c.kind === 'direct') dot.dataset.presence = (S.presence.get(c.peer) || {}).status || 'unknown';
    else dot.style.visibility = 'hidden';
    const name = document.createElement('span');
    name.className = 'name'; name.textContent = title(c);
    const badge = document.createElement('span');
    badge.className = 'unread';
    badge.textContent = c.conv === S.current || !unread(c) ? '' : String(unread(c));
    badge.setAttribute('aria-label', unread(c) + ' unread');
    const flags = document.createElement('span');
    flags.className = 'flags';
    flags.textContent = [c.settings && c.settings.pin ? 'pinned' : '', c.settings && c.settings.mute ? 'muted' : ''].filter(Boolean).join(' · ');
    li.dataset.pinned = String(!!(c.settings && c.settings.pin));
    li.dataset.muted = String(!!(c.settings && c.settings.mute));
    li.append(dot, name, flags, badge);
    li.addEventListener('click', () => openConv(c.conv));
    li.addEventListener('keydown', (e) => { if (e.key === 'Enter') openConv(c.conv); });
    list.append(li);
  }
  const c = S.convs.get(S.current);
  $('load-older').hidden = !c || c.msgs.size === 0 || c.more === false || Math.min(...c.msgs.keys()) <= 1;
  $('leave-group').hidden = !c || c.kind !== 'group';
  $('mute').hidden = $('pin').hidden = !c;
  $('editing').hidden = !S.editing;
  if (!c) return;
  $('mute').textContent = c.settings && c.settings.mute ? 'Unmute' : 'Mute';
  $('pin').textContent = c.settings && c.settings.pin ? 'Unpin' : 'Pin';
  $('chat-title').textContent = title(c);
  const p = c.kind === 'direct' ? S.presence.get(c.peer) : null;
  $('peer-presence').textContent = !p || p.status === 'unknown' ? '' :
    p.status === 'online' ? 'online' : 'last seen ' + new Date(p.last_seen || p.ts).toLocaleString();
  $('chat-title').title = c.kind === 'group' ? 'group id ' + c.group : (nameOf(c.peer) !== c.peer ? c.peer : '');
  const ul = $('messages');
  const atBottom = ul.scrollHeight - ul.scrollTop - ul.clientHeight < 40 || S.renderedConv !== c.conv;
  ul.replaceChildren();
  const seqs = [...c.msgs.keys()].sort((a, b) => a - b);
  let day = '';
  for (const s of seqs) {
    const m = c.msgs.get(s);
    if (EVENTS.has(m.type)) continue;
    if (m.ts && dayOf(m.ts) !== day) {
      day = dayOf(m.ts);
      const sep = document.createElement('li');
      sep.className = 'day'; sep.setAttribute('role', 'separator'); sep.textContent = day;
      ul.append(sep);
    }
    ul.append(msgItem(c, m));
  }
  for (const [cid, p2] of c.pending) ul.append(msgItem(c, { cid, body: p2.body, from: S.me, seq: p2.seq || 0 }, p2));
  if (S.keepScroll !== undefined) { ul.scrollTop = ul.scrollHeight - S.keepScroll; S.keepScroll = undefined; } else if (atBottom) ul.scrollTop = ul.scrollHeight;
  S.renderedConv = c.conv;
}

function msgItem(c, m, pending) {
  const li = document.createElement('li');
  li.className = 'msg' + (m.from === S.me ? ' mine' : '') + (m.type === 'notice' ? ' notice' : '');
  if (m.seq) li.dataset.seq = m.seq;
  if (m.cid) li.dataset.cid = m.cid;
  if (m.type === 'notice') {
    const n = m.notice || {};
    li.textContent = nameOf(n.by || m.from) + ' ' + n.event + (n.user ? ' ' + nameOf(n.user) : '') + (n.users ? ' ' + n.users.map(nameOf).join(', ') : '') + (n.name ? ' "' + n.name + '"' : '');
    return li;
  }
  if (c.kind === 'group' && m.from !== S.me) {
    const f = document.createElement('span');
    f.className = 'from'; f.textContent = nameOf(m.from); f.title = m.from;
    li.append(f);
  }
  const body = document.createElement('span');
  body.className = 'body';
  if (m.recalled) { li.classList.add('recalled'); body.textContent = 'message recalled'; } else if (MEDIA.has(m.type)) mediaBody(body, m); else body.textContent = m.body;
  li.append(body);
  if (m.edited_ts && !m.recalled) {
    const e = document.createElement('span');
    e.className = 'edited'; e.textContent = '(edited)';
    li.append(e);
  }
  if (m.mention || (Array.isArray(m.mentions) && m.mentions.includes(S.me)) || (m.mentions === 'all' && m.from !== S.me)) li.classList.add('mentioned');
  if (m.ts) {
    const t = document.createElement('time');
    t.className = 'ts'; t.dateTime = new Date(m.ts).toISOString(); t.textContent = timeOf(m.ts);
    li.append(t);
  }
  if (m.from === S.me) {
    const mark = document.createElement('span');
    mark.className = 'mark';
    let state = 'sent';
    if (pending) state = pending.state;
    else if (c.kind === 'direct' && c.peer_read >= m.seq) state = 'read';
    else if (c.kind === 'direct' && c.peer_delivered >= m.seq) state = 'delivered';
    mark.dataset.state = state;
    mark.textContent = state === 'failed' ? 'not sent: ' + pending.reason : state;
    li.append(mark);
  }
  if (!pending && m.seq && !m.recalled) li.append(msgActions(c, m));
  return li;
}

// msgActions: reactions (a chip per emoji, click to take yours back or add
// it), a 👍 button, and edit / recall on your own messages.
function msgActions(c, m) {
  const box = document.createElement('span');
  box.className = 'actions';
  for (const r of m.reactions || []) {
    const chip = document.createElement('button');
    chip.type = 'button'; chip.className = 'reaction' + (r.me ? ' me' : '');
    chip.dataset.emoji = r.emoji;
    chip.textContent = r.emoji + ' ' + r.count;
    chip.addEventListener('click', () => react(c, m, r.emoji, r.me));
    box.append(chip);
  }
  const like = document.createElement('button');
  like.type = 'button'; like.className = 'react'; like.textContent = '👍'; like.title = 'react';
  like.addEventListener('click', () => react(c, m, '👍', (m.reactions || []).some((r) => r.emoji === '👍' && r.me)));
  box.append(like);
  if (m.from === S.me) {
    if (m.type === 'text') {
      const ed = document.createElement('button');
      ed.type = 'button'; ed.className = 'edit'; ed.textContent = 'edit';
      ed.addEventListener('click', () => { S.editing = { conv: c.conv, seq: m.seq }; $('text').value = m.body || ''; $('text').focus(); render(); });
      box.append(ed);
    }
    const rc = document.createElement('button');
    rc.type = 'button'; rc.className = 'recall'; rc.textContent = 'recall';
    rc.addEventListener('click', () => change('msg.recall', (im) => im.recall(c.conv, m.seq)));
    box.append(rc);
  }
  return box;
}

const MEDIA = new Set(['image', 'file', 'audio', 'video']);

// mediaBody shows a media message: the image itself, a player, or a link to
// the file, all from the signed url in its body.
function mediaBody(el, m) {
  let f;
  try { f = JSON.parse(m.body); } catch (e) { el.textContent = '[' + m.type + ']'; return; }
  el.classList.add('media');
  if (m.type === 'image') {
    const img = document.createElement('img');
    img.src = f.url; img.alt = f.name; img.className = 'image';
    if (f.width && f.height) { img.width = Math.min(f.width, 240); img.height = Math.round(img.width * f.height / f.width); }
    el.append(img);
  } else if (m.type === 'audio' || m.type === 'video') {
    const p = document.createElement(m.type);
    p.src = f.url; p.controls = true;
    el.append(p);
  }
  const a = document.createElement('a');
  a.href = f.url; a.textContent = f.name + ' (' + Math.ceil(f.size / 1024) + ' KiB)'; a.className = 'file';
  a.target = '_blank'; a.rel = 'noopener';
  el.append(a);
}

// sendFile uploads a chosen file (the SDK hashes it, asks for signed URLs
// and PUTs it) and sends it as an image, audio, video or file message.
async function sendFile(c, file) {
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const mime = file.type || 'application/octet-stream';
    const kind = mime.split('/')[0];
    const type = MEDIA.has(kind) ? kind : 'file';
    if (!S.im) throw new Error('offline');
    const body = await S.im.uploadFile(bytes, { name: file.name, mime });
    if (type === 'image') {
      try {
        const bm = await createImageBitmap(new Blob([bytes], { type: mime }));
        body.width = bm.width; body.height = bm.height;
      } catch (e) { /* not decodable here: sent without dimensions */ }
    }
    const media = JSON.stringify(body);
    await sendTo(c, media, { type }, { body: '[' + type + '] ' + file.name, type, media });
  } catch (e) { showError('file not sent: ' + errText(e)); }
  render();
}

$('file').addEventListener('change', () => {
  const c = S.convs.get(S.current);
  const f = $('file').files[0];
  $('file').value = '';
  if (!c) { showError('open a conversation first'); return; }
  if (f) sendFile(c, f);
});

function react(c, m, emoji, mine) { change('msg.react', (im) => im.react(c.conv, m.seq, emoji, { remove: mine })); }

// change runs an edit, recall or reaction (f, an SDK call). Its event comes
// back as a message on every device of every member, this one included, and
// is applied there (onMessage).
async function change(what, f) {
  await call(what, f);
  render();
}

defaults();
