// Random identifiers (cids, rid prefixes, client ids) and the SHA-256 of an
// upload. Ids need only crypto.getRandomValues, which every browser page has
// (plain http:// included), as do Node ≥ 19 and React Native with a
// getRandomValues polyfill; Node 18 has no global crypto, so node:crypto is
// loaded when this module is (connect() waits for it). Only sha256Hex needs
// crypto.subtle (a secure context in browsers).

type Rng = (b: Uint8Array) => void;

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const nodeCryptoModule = 'node:crypto'; // a variable: bundlers leave the import alone

function isNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

/** crypto.getRandomValues of the global crypto, when there is one. */
function globalRng(): Rng | undefined {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  const f = c?.getRandomValues;
  if (typeof f !== 'function') return undefined;
  return (b) => {
    f.call(c, b);
  };
}

let nodeRng: Rng | undefined;

const loading: Promise<void> =
  globalRng() || !isNode()
    ? Promise.resolve()
    : import(/* @vite-ignore */ nodeCryptoModule).then(
        (m: { webcrypto: Crypto }) => {
          nodeRng = (b) => {
            m.webcrypto.getRandomValues(b);
          };
        },
        () => undefined,
      );

/** Resolves once ids can be made (at once but on Node 18, where node:crypto loads). */
export function cryptoReady(): Promise<void> {
  return loading;
}

/** n random bytes from crypto.getRandomValues. */
export function randomBytes(n: number): Uint8Array {
  const rng = globalRng() ?? nodeRng;
  if (!rng) {
    throw new Error('imqtt: crypto.getRandomValues is missing (React Native: install a getRandomValues polyfill; Node 18: after connect())');
  }
  const b = new Uint8Array(n);
  rng(b);
  return b;
}

/** A url-safe random string of n characters (6 bits each). */
export function randomId(n: number): string {
  const b = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[b[i] & 63];
  return s;
}

/**
 * A new cid: 22 url-safe random characters (132 bits), as send() makes.
 * Make one yourself to know a send's cid before its ack (show it pending),
 * and pass it as send(to, body, {cid}).
 */
export function newCid(): string {
  return randomId(22);
}

/**
 * The SHA-256 of bytes as 64 lowercase hex digits, with Web Crypto's
 * crypto.subtle (browsers give it only to secure contexts: https:// or
 * localhost), else node:crypto (Node).
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await (await subtle()).digest('SHA-256', bytes as unknown as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function subtle(): Promise<SubtleCrypto> {
  const g = (globalThis as { crypto?: Crypto }).crypto;
  if (g?.subtle) return g.subtle;
  if (isNode()) {
    const m = (await import(/* @vite-ignore */ nodeCryptoModule)) as { webcrypto: Crypto };
    return m.webcrypto.subtle;
  }
  throw new Error('imqtt: uploadFile needs crypto.subtle (SHA-256), which browsers give only to secure contexts: https:// or localhost');
}
