// imqtt web chat: the IM protocol of docs/protocol.md over MQTT 5 on WebSocket,
// with mqtt.js. No framework: state in `S`, the DOM redrawn from it.
'use strict';

const $ = (id) => document.getElementById(id);

const S = {
  me: '',
  client: null,
  wantOnline: true,
  convs: new Map(), // conv -> {conv, kind, peer, group, name, last_seq, read, delivered, peer_read, peer_delivered, msgs: Map seq->env, pending: Map cid->{body, state, reason, seq}}
  current: '',
  presence: new Map(), // user -> {status, last_seen}
  names: new Map(), // user -> display name (profiles: conversations, group.members, profile events)
  rpcs: new Map(), // reply topic -> resolve
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

function connect() {
  $('login-error').textContent = '';
  const c = mqtt.connect($('broker').value, {
    protocolVersion: 5,
    clientId: S.me + '-web-' + Math.random().toString(36).slice(2, 10),
    username: S.me,
    password: $('pass').value,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10000,
  });
  S.client = c;
  S.wantOnline = true;
  c.on('connect', onConnect);
  c.on('message', onMessage);
  c.on('reconnect', () => status('reconnecting'));
  c.on('offline', () => status('offline'));
  c.on('close', () => { if (S.client === c) status(S.wantOnline ? 'disconnected' : 'offline'); });
  c.on('disconnect', (pk) => showError('server disconnected: ' + reasonOf(pk)));
  c.on('error', (err) => {
    const msg = 'cannot connect: ' + (err.message || err);
    if ($('app').hidden) { $('login-error').textContent = msg; c.end(true); } else showError(msg);
  });
}

function reasonOf(pk) {
  const code = pk && pk.reasonCode;
  const r = pk && pk.properties && pk.properties.reasonString;
  return (r || '') + (code ? ' (0x' + code.toString(16) + ')' : '');
}

async function onConnect() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = S.me;
  status('online');
  S.client.subscribe('im/u/' + S.me + '/#', { qos: 1 }, (err, granted) => {
    if (err || (granted && granted[0] && granted[0].qos >= 128)) showError('subscribe refused: ' + (err ? err.message : 'reason 0x' + granted[0].qos.toString(16)));
  });
  try {
    const res = await rpc('conversations', {});
    for (const c of res.conversations || []) {
      upsertConv(c);
      if (c.peer) setName(c.peer, c.display_name);
    }
    await sync();
  } catch (e) { showError(String(e)); }
  try {
    const me = await rpc('profile.get', {});
    for (const p of me.profiles || []) setName(p.user, p.display_name);
  } catch (e) { showError('profile: ' + e.message); }
  for (const c of S.convs.values()) if (c.peer) watchPresence(c.peer);
  render();
}

function status(s) { $('status').textContent = s; }

// ---- RPC (reply_to under our own tree: works for 3.1.1 and 5) -------------

function rpc(method, req) {
  const rid = Math.random().toString(36).slice(2, 12);
  const reply = 'im/u/' + S.me + '/rpc/' + rid;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { S.rpcs.delete(reply); reject(new Error(method + ': no answer')); }, 10000);
    S.rpcs.set(reply, (res) => {
      clearTimeout(timer);
      if (res.ok) resolve(res); else reject(new Error(res.reason || ('refused ' + res.code)));
    });
    S.client.publish('im/rpc/' + method, JSON.stringify(Object.assign({ rid, reply_to: reply }, req)), { qos: 1 });
  });
}

// sync fetches everything after what this browser has seen, in pages.
async function sync() {
  const key = 'imqtt.since.' + S.me;
  let since = JSON.parse(localStorage.getItem(key) || '{}');
  for (let page = 0; page < 100; page++) {
    const res = await rpc('sync', { since, limit: 200 });
    for (const m of res.messages || []) addMessage(m);
    since = res.since || since;
    localStorage.setItem(key, JSON.stringify(since));
    if (!res.more) break;
  }
  if (S.current) receiptFor(S.current); // what arrived in the open conversation is read
  render();
}

function noteSeen(conv, seq) {
  const key = 'imqtt.since.' + S.me;
  const since = JSON.parse(localStorage.getItem(key) || '{}');
  if ((since[conv] || 0) < seq) { since[conv] = seq; localStorage.setItem(key, JSON.stringify(since)); }
}

// ---- incoming -------------------------------------------------------------

function onMessage(topic, payload) {
  let m;
  try { m = JSON.parse(new TextDecoder().decode(payload)); } catch (e) { return; }
  if (topic.startsWith('im/presence/')) {
    S.presence.set(m.user, m);
    render();
    return;
  }
  const resolve = S.rpcs.get(topic);
  if (resolve) { S.rpcs.delete(topic); resolve(m); return; }
  const leaf = topic.split('/')[3];
  switch (leaf) {
    case 'msg': addMessage(m); receiptFor(m.conv); break;
    case 'ack': onAck(m); break;
    case 'receipt': onReceipt(m); break;
    case 'typing': onTyping(m); break;
    case 'notify': addNotice(m); break;
    case 'prefs': if (m.event === 'conversation') upsertConv({ conv: m.conv, settings: m.settings || {} }); break;
    case 'profile': setName(m.user, m.display_name); break;
    case 'rpc': if (!m.ok) showError((m.method || 'request') + ' refused: ' + m.reason); break;
  }
  render();
}

function upsertConv(c) {
  let cur = S.convs.get(c.conv);
  if (!cur) {
    cur = { conv: c.conv, msgs: new Map(), pending: new Map(), last_seq: 0, read: 0, delivered: 0, peer_read: 0, peer_delivered: 0 };
    S.convs.set(c.conv, cur);
  }
  for (const k of ['kind', 'peer', 'group', 'name', 'settings']) if (c[k] !== undefined) cur[k] = c[k];
  for (const k of ['last_seq', 'read', 'delivered', 'peer_read', 'peer_delivered']) if (c[k] !== undefined) cur[k] = Math.max(cur[k], c[k]);
  if (!cur.kind) {
    if (c.conv.startsWith('d:')) {
      const [a, b] = c.conv.slice(2).split(':');
      cur.kind = 'direct';
      cur.peer = a === S.me ? b : a;
    } else {
      cur.kind = 'group';
      cur.group = c.conv.slice(2);
    }
  }
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
  if (c.kind === 'direct' && !c.presenceAsked) {
    // Presence is shown to users who share a conversation: (re)subscribe once
    // one exists, so the retained presence comes through the server's filter.
    c.presenceAsked = true;
    watchPresence(c.peer, true);
  }
  noteSeen(env.conv, env.seq);
}

function addNotice(n) {
  showError('');
  $('status').textContent = 'notification from ' + n.from + ': ' + (n.title || '') + ' ' + (n.body || '');
}

// receiptFor tells the sender what this device did with conv: read when it is
// open, delivered otherwise.
function receiptFor(conv) {
  const c = S.convs.get(conv);
  if (!c || !S.client) return;
  const last = c.last_seq;
  if (conv === S.current && c.read < last) {
    c.read = last;
    S.client.publish('im/receipt/' + conv, JSON.stringify({ type: 'read', seq: last }), { qos: 1 });
  } else if (c.delivered < last) {
    c.delivered = last;
    S.client.publish('im/receipt/' + conv, JSON.stringify({ type: 'delivered', seq: last }), { qos: 1 });
  }
}

function onAck(a) {
  const c = S.convs.get(a.conv) || [...S.convs.values()].find((x) => x.pending.has(a.cid));
  const p = c && c.pending.get(a.cid);
  if (a.ok) {
    if (c) c.read = Math.max(c.read, a.seq);
    // The sending device gets no copy of its own message (only the other
    // devices do): the ack makes the pending message a message of the log.
    if (p) addMessage({ id: a.id, conv: a.conv, seq: a.seq, ts: a.ts, from: S.me, cid: a.cid, type: p.type || 'text', body: p.media || p.body });
  } else {
    if (p) { p.state = 'failed'; p.reason = a.reason; }
    showError('not sent: ' + a.reason + ' (code ' + a.code + ')');
  }
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
  if (!c.group || c.membersLoaded) return;
  c.membersLoaded = true;
  try {
    const res = await rpc('group.members', { group: c.group });
    for (const m of res.members || []) setName(m.user, m.display_name);
  } catch (e) { c.membersLoaded = false; /* not a member (yet): the send says why */ }
  render();
}

function watchPresence(user, again) {
  if (!user || !S.client || (S.presence.has(user) && !again)) return;
  if (!S.presence.has(user)) S.presence.set(user, { status: 'unknown' });
  S.client.subscribe('im/presence/' + user, { qos: 1 });
}

// ---- actions --------------------------------------------------------------

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
  if (!c || c.loading) return;
  c.loading = true;
  // Older messages go above: keep what the user looks at where it is.
  const ul = $('messages');
  const fromBottom = ul.scrollHeight - ul.scrollTop;
  S.keepScroll = fromBottom;
  const req = { conv: c.conv, limit: 50 };
  const seqs = [...c.msgs.keys()];
  if (seqs.length) req.before = Math.min(...seqs);
  try {
    const res = await rpc('history', req);
    for (const m of res.messages || []) addMessage(m);
    c.more = res.more;
    c.last_seq = Math.max(c.last_seq, res.last_seq || 0);
    receiptFor(c.conv);
  } catch (e) { showError('history: ' + e.message); }
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
  openConv('d:' + [S.me, peer].sort().join(':'));
  $('peer').value = '';
});

$('new-group').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const users = $('group-users').value.split(',').map((u) => u.trim()).filter(Boolean);
  try {
    const res = await rpc('group.create', { name: $('group-name').value.trim(), users });
    upsertConv({ conv: res.conv, kind: 'group', group: res.group, name: $('group-name').value.trim() });
    $('group-name').value = ''; $('group-users').value = '';
    openConv(res.conv);
  } catch (e) { showError('group not created: ' + e.message); }
});

$('join-group').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const g = $('group-id').value.trim();
  try {
    const res = await rpc('group.join', { group: g });
    openConv(res.conv);
  } catch (e) { showError('cannot join: ' + e.message); }
});

$('open-group').addEventListener('click', () => {
  const g = $('group-id').value.trim();
  if (g) openConv('g:' + g);
});

$('leave-group').addEventListener('click', async () => {
  const c = S.convs.get(S.current);
  if (!c || !c.group) return;
  try {
    await rpc('group.leave', { group: c.group });
    S.convs.delete(c.conv);
    S.current = '';
  } catch (e) { showError('cannot leave: ' + e.message); }
  render();
});

// The display name is this user's profile (profile.set); every device and
// contact gets it as a profile event.
$('profile-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const res = await rpc('profile.set', { display_name: $('display-name').value.trim() });
    setName(S.me, res.profile && res.profile.display_name);
    $('display-name').blur();
  } catch (e) { showError('profile: ' + e.message); }
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
    change('msg.edit', { conv: c.conv, seq, body });
    return;
  }
  S.editing = null;
  const cid = 'w' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  c.pending.set(cid, { body, state: 'pending' });
  const topic = c.kind === 'group' ? 'im/send/group/' + c.group : 'im/send/user/' + c.peer;
  const req = { cid, body };
  // "@name" in a group message mentions that member ("@all": everyone).
  if (c.kind === 'group') {
    const names = [...body.matchAll(/(?:^|\s)@([A-Za-z0-9_.@-]{1,64})/g)].map((x) => x[1]);
    if (names.includes('all')) req.mentions = 'all';
    else if (names.length) req.mentions = [...new Set(names)];
  }
  // Everything goes to the server, which says what is wrong (empty, too
  // large, not a member): the page shows its reason.
  S.client.publish(topic, JSON.stringify(req), { qos: 1 });
  $('text').value = '';
  render();
});

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
  try {
    const res = await rpc('conversation.set', { conv: c.conv, set });
    c.settings = res.settings || {};
  } catch (e) { showError('settings: ' + e.message); }
  render();
}

$('text').addEventListener('input', () => {
  const now = Date.now();
  if (!S.current || now - S.lastTyping < 2000) return;
  S.lastTyping = now;
  S.client.publish('im/typing/' + S.current, JSON.stringify({ state: 'start' }), { qos: 0 });
});

$('offline').addEventListener('click', () => {
  S.wantOnline = false;
  S.client.end(true);
  $('offline').hidden = true; $('online').hidden = false;
  status('offline');
});

$('online').addEventListener('click', () => {
  $('offline').hidden = false; $('online').hidden = true;
  S.client.removeAllListeners();
  connect(); // onConnect syncs what was missed
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
    rc.addEventListener('click', () => change('msg.recall', { conv: c.conv, seq: m.seq }));
    box.append(rc);
  }
  return box;
}

// ---- media (docs/protocol.md "Media messages") -----------------------------

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

function hex(buf) { return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join(''); }

// sendFile uploads a chosen file (rpc upload, then PUT to the signed URL)
// and sends it as an image, audio, video or file message.
async function sendFile(c, file) {
  try {
    const bytes = await file.arrayBuffer();
    const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
    const mime = file.type || 'application/octet-stream';
    const up = await rpc('upload', { name: file.name, size: file.size, mime, sha256 });
    const put = await fetch(up.put_url, { method: 'PUT', headers: up.put_headers || {}, body: bytes });
    if (!put.ok) throw new Error('upload refused: HTTP ' + put.status);
    const kind = mime.split('/')[0];
    const type = MEDIA.has(kind) ? kind : 'file';
    const body = { url: up.url, name: file.name, size: file.size, mime, sha256 };
    if (type === 'image') {
      try {
        const bm = await createImageBitmap(new Blob([bytes], { type: mime }));
        body.width = bm.width; body.height = bm.height;
      } catch (e) { /* not decodable here: sent without dimensions */ }
    }
    const cid = 'w' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    c.pending.set(cid, { body: '[' + type + '] ' + file.name, state: 'pending', type, media: JSON.stringify(body) });
    const topic = c.kind === 'group' ? 'im/send/group/' + c.group : 'im/send/user/' + c.peer;
    S.client.publish(topic, JSON.stringify({ cid, type, body: JSON.stringify(body) }), { qos: 1 });
  } catch (e) { showError('file not sent: ' + e.message); }
  render();
}

$('file').addEventListener('change', () => {
  const c = S.convs.get(S.current);
  const f = $('file').files[0];
  $('file').value = '';
  if (!c) { showError('open a conversation first'); return; }
  if (f) sendFile(c, f);
});

function react(c, m, emoji, mine) { change('msg.react', { conv: c.conv, seq: m.seq, emoji, remove: mine }); }

// change runs an edit, recall or reaction; the event that comes back on
// im/u/{me}/msg (and the rpc answer) updates the message.
async function change(method, req) {
  try {
    const res = await rpc(method, req);
    if (res.changed && res.seq) loadEvent(req.conv, res);
  } catch (e) { showError(method + ': ' + e.message); }
  render();
}

// loadEvent: this device does not get its own events on msg (as with sends):
// history brings the target as it is now.
async function loadEvent(conv, res) {
  const c0 = upsertConv({ conv });
  (c0.applied = c0.applied || new Set()).add(res.seq); // history has it applied
  try {
    const h = await rpc('history', { conv, before: res.target + 1, limit: 1 });
    for (const m of h.messages || []) addMessage(m);
    const c = S.convs.get(conv);
    if (c) { c.last_seq = Math.max(c.last_seq, res.seq); c.read = Math.max(c.read, res.seq); }
  } catch (e) { showError('history: ' + e.message); }
  render();
}

defaults();
