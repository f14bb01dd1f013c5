import {
  createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes,
} from 'node:crypto';

/** AES-256-GCM output, each part base64url. */
export interface Sealed {
  iv: string;
  data: string;
  tag: string;
}

/** A secret sealed to a public key: the sender's one-off public key and the ciphertext. */
export interface SealedTo {
  ephemeral: string;
  box: Sealed;
}

const b64 = (b: Buffer): string => b.toString('base64url');
const unb64 = (s: string): Buffer => Buffer.from(s, 'base64url');

function aesSeal(key: Buffer, plain: Buffer, aad: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv: b64(iv), data: b64(data), tag: b64(cipher.getAuthTag()) };
}

/** Throws when the key is wrong or anything was altered. */
function aesOpen(key: Buffer, sealed: Sealed, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, unb64(sealed.iv));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(unb64(sealed.tag));
  return Buffer.concat([decipher.update(unb64(sealed.data)), decipher.final()]);
}

function keyFrom(ikm: Buffer | string, salt: Buffer | string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

const LOCK_INFO = 'cozy-ts login flow: private key lock';
const SEAL_INFO = 'cozy-ts login flow: sealed secret';

/**
 * An X25519 key pair whose private half is locked with `secret` (a high-entropy token, so HKDF is the whole KDF).
 * Whoever holds only the stored values can seal to the public key but open nothing: opening needs `secret`, which
 * is never stored.
 */
export function lockedKeyPair(secret: string): { publicKey: string; lockedKey: Sealed } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const pub = publicKey.export({ type: 'spki', format: 'der' });
  const priv = privateKey.export({ type: 'pkcs8', format: 'der' });
  return { publicKey: b64(pub), lockedKey: aesSeal(keyFrom(secret, '', LOCK_INFO), priv, b64(pub)) };
}

/** ECIES: a one-off key pair, X25519 with the recipient, HKDF, AES-256-GCM. */
export function sealTo(publicKey: string, plain: string): SealedTo {
  const recipient = createPublicKey({ key: unb64(publicKey), type: 'spki', format: 'der' });
  const mine = generateKeyPairSync('x25519');
  const ephemeral = b64(mine.publicKey.export({ type: 'spki', format: 'der' }));
  const shared = diffieHellman({ privateKey: mine.privateKey, publicKey: recipient });
  const key = keyFrom(shared, `${ephemeral}.${publicKey}`, SEAL_INFO);
  return { ephemeral, box: aesSeal(key, Buffer.from(plain, 'utf8'), ephemeral) };
}

/** What `sealTo` sealed, opened with the secret that locks the key pair; null when anything does not fit. */
export function openWith(secret: string, publicKey: string, lockedKey: Sealed, sealed: SealedTo): string | null {
  try {
    const priv = aesOpen(keyFrom(secret, '', LOCK_INFO), lockedKey, publicKey);
    const privateKey = createPrivateKey({ key: priv, type: 'pkcs8', format: 'der' });
    const shared = diffieHellman({ privateKey, publicKey: createPublicKey({ key: unb64(sealed.ephemeral), type: 'spki', format: 'der' }) });
    const key = keyFrom(shared, `${sealed.ephemeral}.${publicKey}`, SEAL_INFO);
    return aesOpen(key, sealed.box, sealed.ephemeral).toString('utf8');
  } catch {
    return null;
  }
}
