// Random identifiers (cids, rid prefixes, client ids) and the SHA-256 of an
// upload. Ids need only crypto.getRandomValues, which every browser page has
// (plain http:// included), as do Node ≥ 18 and React Native with a
// getRandomValues polyfill; only sha256Hex needs crypto.subtle (a secure
// context in browsers).

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** n random bytes from crypto.getRandomValues. */
export function randomBytes(n: number): Uint8Array {
  const c = (globalThis as { crypto?: { getRandomValues?: <T extends ArrayBufferView>(a: T) => T } }).crypto;
  if (!c || typeof c.getRandomValues !== 'function') {
    throw new Error('imqtt: crypto.getRandomValues is missing (React Native: install a getRandomValues polyfill)');
  }
  const b = new Uint8Array(n);
  c.getRandomValues(b);
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
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (isNode) {
    const mod = 'node:crypto';
    const m = (await import(/* @vite-ignore */ mod)) as { webcrypto: Crypto };
    return m.webcrypto.subtle;
  }
  throw new Error('imqtt: uploadFile needs crypto.subtle (SHA-256), which browsers give only to secure contexts: https:// or localhost');
}
