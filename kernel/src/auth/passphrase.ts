import { pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { domainWithoutPort } from '../instances/domain.ts';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (pw: string | Buffer, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>;

/** Iterations new instances get, as cozy-stack (the client reads them from /public/prelogin). */
export const DEFAULT_KDF_ITERATIONS = 650_000;

/**
 * What a Cozy client sends instead of the clear password:
 * base64(PBKDF2-SHA256(PBKDF2-SHA256(password, "me@" + domain-without-port, iterations), password, 1)).
 * The server computes it only when an admin hands it a clear passphrase (CLI `--passphrase`).
 */
export async function clientPassphraseHash(password: string, domain: string, iterations: number): Promise<string> {
  const master = await pbkdf2Async(password, `me@${domainWithoutPort(domain)}`, iterations, 32, 'sha256');
  const hash = await pbkdf2Async(master, password, 1, 32, 'sha256');
  return hash.toString('base64');
}

// N=2^15 keeps a verification around 50-100 ms on a Raspberry Pi 4 while costing attackers 32 MiB per guess.
const SCRYPT = { N: 32768, r: 8, p: 1, keylen: 32 };

/** Slow hash of a secret for storage: `scrypt$N$r$p$salt$hash` (base64 parts). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const N = Number(n);
  if (!Number.isInteger(N) || N < 2 || N > 1 << 20 || expected.length === 0) return false;
  const key = await scryptAsync(secret, Buffer.from(saltB64, 'base64'), expected.length, {
    N, r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024,
  });
  return timingSafeEqual(key, expected);
}
