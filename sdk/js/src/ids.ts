// Random identifiers: cids (128 bits, url-safe), rid prefixes, client ids.

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Fills n random bytes from Web Crypto (browsers, Node ≥ 19 global; Node 18 module). */
export async function randomBytes(n: number): Promise<Uint8Array> {
  const c = await webCrypto();
  const b = new Uint8Array(n);
  c.getRandomValues(b);
  return b;
}

/** A url-safe random string of n characters (6 bits each). */
export async function randomId(n: number): Promise<string> {
  const b = await randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[b[i] & 63];
  return s;
}

/** A new cid: 22 url-safe characters, 132 bits. */
export function newCid(): Promise<string> {
  return randomId(22);
}

let cached: Crypto | undefined;

/** Web Crypto: globalThis.crypto, or node:crypto's webcrypto on Node 18. */
export async function webCrypto(): Promise<Crypto> {
  if (cached) return cached;
  const g = (globalThis as { crypto?: Crypto }).crypto;
  if (g && typeof g.getRandomValues === 'function' && g.subtle) {
    cached = g;
  } else {
    const mod = 'node:crypto';
    const m = (await import(/* @vite-ignore */ mod)) as { webcrypto: Crypto };
    cached = m.webcrypto;
  }
  return cached;
}
