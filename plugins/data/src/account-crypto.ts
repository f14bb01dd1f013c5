import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';

/**
 * Encryption of the secrets in io.cozy.accounts documents, as cozy-stack's model/account/credentials.go, so that
 * accounts written by one stack are read by the other with the same key files:
 * - a key file is a PEM block `NACL KEY` of 64 bytes, public key then private key (cozy's keyring.MarshalNACLKey);
 *   the encryptor holds the receiver's public key and the sender's private key, the decryptor the other two;
 * - a cipher text is base64("nacl" + 24-byte nonce + crypto_box(plain));
 * - `auth.password` becomes `auth.credentials_encrypted`, whose plain text is the login's length (4 bytes, big
 *   endian), the login and the password; `secret`, `dob`, `code`, `answer`, `access_token`, `refresh_token`,
 *   `appSecret` and `session` become `<name>_encrypted` (their JSON); the rest of `auth` stays as it is, and the same
 *   applies to `data.auth`.
 */

const HEADER = Buffer.from('nacl');
const NONCE_LEN = 24;
const KEY_LEN = 32;
const DATA_FIELDS = new Set(['secret', 'dob', 'code', 'answer', 'access_token', 'refresh_token', 'appSecret', 'session']);
const ENCRYPTED_SUFFIX = '_encrypted';

export interface NaclKey {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** Reads a `-----BEGIN NACL KEY-----` PEM block; throws on anything else. */
export function parseNaclKey(pem: string): NaclKey {
  const match = /-----BEGIN NACL KEY-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END NACL KEY-----/.exec(pem);
  if (!match) throw new Error('not a NACL KEY PEM block');
  const bytes = Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64');
  if (bytes.length !== 2 * KEY_LEN) throw new Error(`a NACL KEY holds ${2 * KEY_LEN} bytes, this one ${bytes.length}`);
  return { publicKey: new Uint8Array(bytes.subarray(0, KEY_LEN)), privateKey: new Uint8Array(bytes.subarray(KEY_LEN)) };
}

export function formatNaclKey(key: NaclKey): string {
  const body = Buffer.concat([key.publicKey, key.privateKey]).toString('base64');
  return `-----BEGIN NACL KEY-----\n${body.replace(/.{1,64}/g, '$&\n')}-----END NACL KEY-----\n`;
}

/** A fresh encryptor/decryptor pair, as cozy's keyring.GenerateKeyPair. */
export function generateKeyPair(): { encryptor: NaclKey; decryptor: NaclKey } {
  const sender = nacl.box.keyPair();
  const receiver = nacl.box.keyPair();
  return {
    encryptor: { publicKey: receiver.publicKey, privateKey: sender.secretKey },
    decryptor: { publicKey: sender.publicKey, privateKey: receiver.secretKey },
  };
}

function seal(key: NaclKey, plain: Uint8Array): string {
  const nonce = new Uint8Array(randomBytes(NONCE_LEN));
  const boxed = nacl.box(plain, nonce, key.publicKey, key.privateKey);
  return Buffer.concat([HEADER, nonce, boxed]).toString('base64');
}

function open(key: NaclKey, cipher: string): Uint8Array | undefined {
  const bytes = Buffer.from(cipher, 'base64');
  if (bytes.length < HEADER.length + NONCE_LEN || !bytes.subarray(0, HEADER.length).equals(HEADER)) return undefined;
  const nonce = new Uint8Array(bytes.subarray(HEADER.length, HEADER.length + NONCE_LEN));
  const boxed = new Uint8Array(bytes.subarray(HEADER.length + NONCE_LEN));
  return nacl.box.open(boxed, nonce, key.publicKey, key.privateKey) ?? undefined;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export class AccountCrypto {
  constructor(private readonly keys: { encryptor: NaclKey; decryptor: NaclKey }) {}

  /** Encrypts the secrets of `auth` (and `data.auth`) in place; true when something was encrypted. */
  encrypt(doc: Json): boolean {
    const auth = doc.auth;
    let encrypted = false;
    if (isObject(auth)) {
      const login = typeof auth.login === 'string' ? auth.login : '';
      const out: Json = {};
      const kept: string[] = [];
      for (const [k, v] of Object.entries(auth)) {
        if (k === 'password') {
          out.credentials_encrypted = this.#credentials(login, typeof v === 'string' ? v : '');
          encrypted = true;
        } else if (DATA_FIELDS.has(k)) {
          out[k + ENCRYPTED_SUFFIX] = seal(this.keys.encryptor, Buffer.from(JSON.stringify(v ?? null)));
          encrypted = true;
        } else if (k.endsWith(ENCRYPTED_SUFFIX)) {
          kept.push(k);
        } else {
          out[k] = v;
        }
      }
      // A value encrypted just now wins over a stale one sent back with the document.
      for (const k of kept) if (!(k in out)) out[k] = auth[k];
      doc.auth = out;
    }
    if (isObject(doc.data) && this.encrypt(doc.data)) encrypted = true;
    return encrypted;
  }

  /** Decrypts `*_encrypted` members of `auth` (and `data.auth`) in place; what cannot be decrypted becomes empty. */
  decrypt(doc: Json): boolean {
    const auth = doc.auth;
    let decrypted = false;
    if (isObject(auth)) {
      const out: Json = {};
      for (const [k, v] of Object.entries(auth)) {
        if (!k.endsWith(ENCRYPTED_SUFFIX)) {
          out[k] = v;
          continue;
        }
        const name = k.slice(0, -ENCRYPTED_SUFFIX.length);
        if (typeof v !== 'string') {
          out[name] = v;
          continue;
        }
        const plain = open(this.keys.decryptor, v);
        if (name === 'credentials') {
          const creds = plain && splitCredentials(plain);
          out.login = creds?.login ?? '';
          out.password = creds?.password ?? '';
          decrypted ||= creds !== undefined;
        } else {
          const value = plain && parseJson(plain);
          out[name] = value?.ok ? value.value : null;
          decrypted ||= value?.ok === true;
        }
      }
      doc.auth = out;
    }
    if (isObject(doc.data) && this.decrypt(doc.data)) decrypted = true;
    return decrypted;
  }

  #credentials(login: string, password: string): string {
    const loginBytes = Buffer.from(login);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(loginBytes.length);
    return seal(this.keys.encryptor, Buffer.concat([prefix, loginBytes, Buffer.from(password)]));
  }
}

function splitCredentials(plain: Uint8Array): { login: string; password: string } | undefined {
  const buf = Buffer.from(plain);
  if (buf.length < 4) return undefined;
  const loginLen = buf.readUInt32BE(0);
  if (buf.length - 4 < loginLen) return undefined;
  return { login: buf.subarray(4, 4 + loginLen).toString(), password: buf.subarray(4 + loginLen).toString() };
}

function parseJson(plain: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(plain).toString()) };
  } catch {
    return { ok: false };
  }
}

/**
 * cozy's account.ComputeName: the account's `name` is `auth[identifier]` when `identifier` names a string member of
 * `auth`, else `auth.login`.
 */
export function computeAccountName(doc: Json): void {
  const auth = doc.auth;
  if (!isObject(auth)) return;
  const identifier = doc.identifier;
  if (typeof identifier !== 'string' || identifier === '') {
    if (typeof auth.login === 'string') doc.name = auth.login;
    return;
  }
  if (typeof auth[identifier] === 'string') doc.name = auth[identifier];
}
