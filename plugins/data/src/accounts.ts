import type { Doc } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { computeAccountName, type AccountCrypto } from './account-crypto.ts';

export const ACCOUNTS_DOCTYPE = 'io.cozy.accounts';

/**
 * cozy-stack's special case for io.cozy.accounts on the single-document routes (web/data/accounts.go): secrets are
 * encrypted before every write, handed back in clear only to konnectors (and to apps asking `include=credentials`),
 * a new account gets its `name` and the caller's `cozyMetadata`. Without credential keys in the config nothing is
 * encrypted (cozy falls back to a fixed, public test key instead; this plugin would rather not pretend).
 */
export class Accounts {
  constructor(private readonly crypto: AccountCrypto | undefined) {}

  /** Before a write: encrypts in place; true when something was encrypted. */
  encrypt(doc: Record<string, unknown>): boolean {
    return this.crypto?.encrypt(doc) ?? false;
  }

  /** A read or write answer: in clear for konnectors, and for apps that ask with `include=credentials`. */
  async reveal(access: Access, doc: Doc, includeCredentials: boolean): Promise<Doc> {
    if (!this.crypto) return doc;
    const { kind } = await access.who();
    if (kind !== 'konnector' && !(includeCredentials && kind === 'app')) return doc;
    const copy = structuredClone(doc);
    this.crypto.decrypt(copy);
    return copy;
  }

  /** A new account (POST): encrypted, named after its identifier, with cozyMetadata from the caller. */
  async prepareNew(access: Access, doc: Record<string, unknown>): Promise<void> {
    this.encrypt(doc);
    computeAccountName(doc);
    doc.cozyMetadata = await cozyMetadata(access);
  }

  /** An updated account (PUT): encrypted, and cozyMetadata from the caller when it has none. */
  async prepareUpdate(access: Access, doc: Record<string, unknown>): Promise<void> {
    this.encrypt(doc);
    if (doc.cozyMetadata === undefined || doc.cozyMetadata === null) doc.cozyMetadata = await cozyMetadata(access);
  }
}

/** cozy's CozyMetadataFromClaims: metadata version 1, both dates now, and the app or konnector slug when there is one. */
async function cozyMetadata(access: Access): Promise<Record<string, unknown>> {
  const now = new Date().toISOString();
  const meta: Record<string, unknown> = { doctypeVersion: '', metadataVersion: 1, createdAt: now, updatedAt: now };
  const { kind, subject } = await access.who();
  if ((kind === 'app' || kind === 'konnector') && subject) {
    meta.createdByApp = subject;
    meta.updatedByApps = [{ slug: subject, date: now }];
  }
  return meta;
}
