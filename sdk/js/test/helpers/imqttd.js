// Starts a real imqttd for the SDK tests: password users (password = user +
// "-pw", written with `imqttd user add`), an ACL allowing every topic, tcp and
// ws listeners on free loopback ports, the admin API, a data dir in a temp dir.
// The bound addresses come from the "imqttd started" JSON log line on stderr.
// IMQTTD_BIN names a built binary; without it the binary is built once per
// test process (go build ./cmd/imqttd).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'root'];

let built;

/** The imqttd binary: IMQTTD_BIN, or one built into a temp dir. */
export function imqttdBin() {
  if (process.env.IMQTTD_BIN) return path.resolve(process.env.IMQTTD_BIN);
  if (!built) {
    const dir = mkdtempSync(path.join(tmpdir(), 'imqttd-bin-'));
    built = path.join(dir, 'imqttd');
    execFileSync('go', ['build', '-o', built, './cmd/imqttd'], { cwd: repo, stdio: 'inherit' });
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return built;
}

/** Resolves or rejects when the promise does, or rejects after ms. */
export function within(p, ms, what) {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

/** Polls cond (sync or async) every 20 ms until it is truthy, failing after ms. */
export async function until(cond, ms = 10000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A running imqttd. stop() (SIGTERM) in the test's cleanup. */
export class Broker {
  constructor(dir) {
    this.dir = dir;
    this.lines = [];
  }

  /** Starts imqttd; tcpAddr/wsAddr pin the listeners (a restart keeps its ports). */
  async start(tcpAddr = '127.0.0.1:0', wsAddr = '127.0.0.1:0') {
    const cfg = path.join(this.dir, 'imqttd.yaml');
    writeFileSync(
      cfg,
      `node:
  id: sdkjs
  data_dir: ${this.dir}/data
listeners:
  tcp: {enabled: true, address: "${tcpAddr}"}
  ws: {enabled: true, address: "${wsAddr}", path: /mqtt}
auth:
  password_file: ${this.dir}/users.passwd
acl:
  file: ${this.dir}/acl.conf
admin: {enabled: true, address: "127.0.0.1:0"}
cluster:
  bind_addr: "127.0.0.1:0"
im:
  admins: [root]
`,
    );
    const proc = spawn(imqttdBin(), ['serve', '--log-format', 'json', '--log-level', 'info', '--config', cfg], {
      cwd: this.dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
    const started = new Promise((resolve, reject) => {
      let buf = '';
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.lines.push(line);
          let ev;
          try {
            ev = JSON.parse(line);
          } catch {
            continue;
          }
          if (ev.message === 'imqttd started') resolve(ev);
        }
      });
      proc.on('exit', (code) => reject(new Error(`imqttd exited (${code}) before starting:\n${this.lines.join('\n')}`)));
    });
    const ev = await within(started, 30000, 'imqttd start');
    this.tcp = ev.listener_tcp;
    this.ws = ev.listener_ws;
    this.admin = ev.admin;
    this.adminTokenFile = ev.admin_token_file;
    return this;
  }

  /** mqtt://host:port of the tcp listener. */
  get mqttUrl() {
    return `mqtt://${this.tcp}`;
  }

  /** ws://host:port/mqtt of the WebSocket listener. */
  get wsUrl() {
    return `ws://${this.ws}/mqtt`;
  }

  /** The admin API bearer token (data_dir/admin.token). */
  adminToken() {
    return readFileSync(this.adminTokenFile || path.join(this.dir, 'data', 'admin.token'), 'utf8').trim();
  }

  /** SIGKILLs the process and waits for its exit. */
  async kill() {
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Starts it again on the same data dir and the same tcp and ws ports. */
  restart() {
    return this.start(this.tcp, this.ws);
  }

  /** SIGTERM and wait (idempotent). */
  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      await within(this.exited, 20000, 'imqttd stop').catch(() => this.proc.kill('SIGKILL'));
    }
  }
}

/** Starts a broker in a fresh temp dir with the users; t.after stops it and removes the dir. */
export async function startBroker(t) {
  const dir = mkdtempSync(path.join(tmpdir(), 'imqtt-sdkjs-'));
  const bin = imqttdBin();
  for (const u of users) {
    execFileSync(bin, ['user', 'add', '-cost', '4', path.join(dir, 'users.passwd'), u], { input: `${u}-pw\n`, stdio: ['pipe', 'ignore', 'inherit'] });
  }
  writeFileSync(path.join(dir, 'acl.conf'), 'pattern readwrite #\n');
  const b = new Broker(dir);
  t.after(async () => {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await b.start();
  return b;
}
