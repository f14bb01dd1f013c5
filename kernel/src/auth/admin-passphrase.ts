import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashSecret } from './passphrase.ts';

/** Where the server keeps the admin passphrase's hash, and where it leaves the CLI's copy of a generated one. */
export function adminPassphrasePaths(storage: string) {
  return { hash: join(storage, 'admin-passphrase.hash'), credential: join(storage, 'admin-passphrase') };
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    const s = (await readFile(path, 'utf8')).trim();
    return s || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** Stores a new admin passphrase: its hash for the server, and (optionally) the clear one for the CLI. */
export async function setAdminPassphrase(storage: string, passphrase: string, keepCredential: boolean): Promise<void> {
  const paths = adminPassphrasePaths(storage);
  await mkdir(storage, { recursive: true });
  await writePrivate(paths.hash, (await hashSecret(passphrase)) + '\n');
  if (keepCredential) await writePrivate(paths.credential, passphrase + '\n');
}

/**
 * The hash the admin API checks. On a first start with none configured, a random passphrase is made: only its
 * hash is what the server uses; the clear copy goes to a 0600 file the local CLI reads (delete it and use
 * COZY_ADMIN_PASSPHRASE if you prefer), like a database's local credentials file.
 */
export async function ensureAdminPassphraseHash(
  storage: string,
  configured: string | undefined,
): Promise<{ hash: string; generated: boolean }> {
  if (configured) return { hash: configured, generated: false };
  const paths = adminPassphrasePaths(storage);
  const existing = await readTrimmed(paths.hash);
  if (existing) return { hash: existing, generated: false };
  await setAdminPassphrase(storage, randomBytes(18).toString('base64url'), true);
  return { hash: (await readTrimmed(paths.hash)) as string, generated: true };
}

/** The clear passphrase the CLI sends: COZY_ADMIN_PASSPHRASE, else the local credential file. */
export async function readAdminCredential(storage: string, env = process.env): Promise<string | undefined> {
  return env.COZY_ADMIN_PASSPHRASE || (await readTrimmed(adminPassphrasePaths(storage).credential));
}
