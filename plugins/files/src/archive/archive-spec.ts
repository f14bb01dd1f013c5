import { randomBytes } from 'node:crypto';
import { defineError, type Cache, type InstanceRef } from '@cozy-ts/kernel';

/** cozy-stack's storeTTL: an archive link works for ten minutes. */
export const ARCHIVE_TTL_MS = 10 * 60 * 1000;
/** Entries one archive may name (a directory counts once, whatever it holds). */
const MAX_SELECTION = 10_000;
const SECRET = /^[0-9a-f]{16}$/;

export const ArchiveErrors = {
  badRequest: defineError('COZY_ERR_FILES_ARCHIVE_BAD_REQUEST', 400, 'Bad archive request'),
  wrongToken: defineError('COZY_ERR_FILES_WRONG_TOKEN', 400, 'Wrong download token'),
} as const;

/** What to put in an archive: cozy-stack's vfs.Archive without its PDF pages. */
export interface ArchiveSpec {
  name: string;
  ids: string[];
  files: string[];
}

function stringList(value: unknown, member: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw ArchiveErrors.badRequest(`${member} must be a list of non-empty strings`, { source: { pointer: `/data/attributes/${member}` } });
  }
  return [...new Set(value as string[])];
}

/**
 * The body of POST /files/archive (`{"data": {"attributes": {"name", "ids", "files"}}}`), checked as cozy-stack:
 * no entry is a 400, so is a name with a `/`; an empty name is `archive`. Names that would escape the archive's
 * folder when unzipped (`.`, `..`, control characters) are refused as well.
 */
export function readArchiveSpec(body: unknown): ArchiveSpec {
  const data = (body as { data?: unknown } | null)?.data;
  const attrs = (typeof data === 'object' && data !== null ? (data as { attributes?: unknown }).attributes : undefined) ?? {};
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw ArchiveErrors.badRequest('Expected a JSON:API document: {"data": {"attributes": {...}}}', { source: { pointer: '/data' } });
  }
  const a = attrs as Record<string, unknown>;
  const ids = stringList(a.ids, 'ids');
  const files = stringList(a.files, 'files');
  if (Array.isArray(a.pages) && a.pages.length > 0) {
    throw ArchiveErrors.badRequest('Single PDF pages cannot be archived on this server', { source: { pointer: '/data/attributes/pages' } });
  }
  if (ids.length === 0 && files.length === 0) throw ArchiveErrors.badRequest("Can't create an archive with no files");
  if (ids.length + files.length > MAX_SELECTION) throw ArchiveErrors.badRequest(`An archive names at most ${MAX_SELECTION} entries`);
  if (a.name !== undefined && typeof a.name !== 'string') throw ArchiveErrors.badRequest('name must be a string', { source: { pointer: '/data/attributes/name' } });
  const name = (a.name as string | undefined) || 'archive';
  if (name.includes('/')) throw ArchiveErrors.badRequest("The archive filename can't contain a /");
  if (name === '.' || name === '..' || /[\u0000-\u001f\\]/.test(name) || Buffer.byteLength(name) > 255) {
    throw ArchiveErrors.badRequest('Invalid archive filename', { source: { pointer: '/data/attributes/name' } });
  }
  return { name, ids, files };
}

function key(inst: InstanceRef, secret: string): string {
  return `files:archive:${inst.prefix}:${secret}`;
}

/** Archive selections behind their download secrets, in the cluster cache so any process serves the link. */
export class ArchiveSecrets {
  constructor(private readonly cache: Cache) {}

  async add(inst: InstanceRef, spec: ArchiveSpec): Promise<string> {
    const secret = randomBytes(8).toString('hex');
    await this.cache.set(key(inst, secret), spec, ARCHIVE_TTL_MS);
    return secret;
  }

  /** The selection behind a secret; `wrongToken` (400, cozy-stack's ErrWrongToken) when unknown or expired. */
  async get(inst: InstanceRef, secret: string): Promise<ArchiveSpec> {
    const spec = SECRET.test(secret) ? await this.cache.get<ArchiveSpec>(key(inst, secret)) : undefined;
    if (!spec) throw ArchiveErrors.wrongToken();
    return spec;
  }
}
