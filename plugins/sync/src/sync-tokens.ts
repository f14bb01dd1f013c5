import { SyncErrors } from './sync-errors.ts';

/**
 * Sync tokens (RFC 6578) and ctags: the store's update sequence of each member database, plus the collection's
 * generation (random at creation) so a token of a deleted and re-made collection is refused. They are opaque
 * to clients and survive restarts because the sequences do.
 */
export const TOKEN_PREFIX = 'http://cozy.io/ns/sync/';

export interface SyncPoint {
  generation: string;
  seqs: string[];
}

export function formatToken(p: SyncPoint): string {
  return `${TOKEN_PREFIX}${p.generation}/${Buffer.from(JSON.stringify(p.seqs)).toString('base64url')}`;
}

/** Parses a client's token; anything that is not one of ours for this collection is 403 valid-sync-token. */
export function parseToken(token: string, generation: string, count: number): string[] {
  if (!token.startsWith(TOKEN_PREFIX)) throw SyncErrors.invalidSyncToken();
  const rest = token.slice(TOKEN_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash === -1 || rest.slice(0, slash) !== generation) throw SyncErrors.invalidSyncToken();
  let seqs: unknown;
  try {
    seqs = JSON.parse(Buffer.from(rest.slice(slash + 1), 'base64url').toString('utf8'));
  } catch {
    throw SyncErrors.invalidSyncToken();
  }
  if (!Array.isArray(seqs) || seqs.length === 0 || seqs.length > count || !seqs.every((s) => typeof s === 'string' && s.length < 4096)) throw SyncErrors.invalidSyncToken();
  // A token made before a member doctype was added (group cards) has fewer sequences: the new one starts at 0.
  return [...(seqs as string[]), ...Array<string>(count - seqs.length).fill('0')];
}
