import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { AuthErrors, instanceOf, type AuthService, type ClusterPorts, type DocumentStore, type InstanceRef, type VfsContent } from '@cozy-ts/kernel';
import type { Logger } from 'pino';
import { fsck, type FsckOptions } from './fsck.ts';
import type { FsckLog } from './fsck-log.ts';

const FILES_DOCTYPE = 'io.cozy.files';
/** cozy-stack keeps the answer of GET /files/fsck about three months (utils.DurationFuzzing(3*30*24h, 0.10)). */
const CACHE_TTL_MS = 90 * 24 * 3600 * 1000;

export interface FsckDeps {
  store: DocumentStore;
  auth: AuthService;
  vfs: VfsContent;
  cluster: ClusterPorts;
  log: Logger;
}

function bool(value: unknown): boolean {
  return typeof value === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value);
}

function cacheKey(inst: InstanceRef): string {
  return `files:fsck:${inst.prefix}`;
}

/**
 * The admin stream: one JSON anomaly per line, then `{"error": ...}` when the check itself failed, as cozy-stack's
 * `GET /instances/:domain/fsck`. Meant to be mounted on the admin API too (it only needs the instance).
 */
export function fsckStream(deps: Pick<FsckDeps, 'store' | 'vfs' | 'log'>, inst: InstanceRef, opts: FsckOptions): Readable {
  async function* lines(): AsyncGenerator<string> {
    try {
      for await (const log of fsck(deps.store, deps.vfs, inst, opts)) yield `${JSON.stringify(log)}\n`;
    } catch (err) {
      deps.log.warn({ err, domain: inst.domain }, 'fsck failed');
      const status = (err as { status?: number }).status;
      const error = err instanceof Error ? err.message : String(err);
      yield `${JSON.stringify(status === 404 ? { type: 'no_database', error } : { error })}\n`;
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** The admin stream's options from cozy-stack's query parameters. */
export function fsckOptionsFrom(query: Record<string, unknown>): FsckOptions {
  const mode = bool(query.IndexIntegrity) ? 'index' : bool(query.FilesConsistency) ? 'files' : 'all';
  return { mode, failFast: bool(query.FailFast) };
}

/**
 * `GET /files/fsck`: cozy-stack's user route, the content mismatches between the index and the storage as one
 * JSON array, cached until `NoCache=true` (a full read of every content is not something to redo on each call).
 * Needs GET on the whole io.cozy.files doctype.
 *
 * `GET /files/fsck/stream`: every anomaly kind, streamed one JSON per line with cozy-stack's admin parameters
 * (`IndexIntegrity`, `FilesConsistency`, `FailFast`), for CLI tokens only (only the admin API mints them) holding GET
 * on io.cozy.files. The admin API serves the same stream at `GET /instances/:domain/fsck` (admin-routes.ts).
 *
 * No start or stop hook.
 */
export function registerFsckRoutes(app: FastifyInstance, deps: FsckDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/fsck', async (req, reply) => {
    const inst = instanceOf(req);
    await deps.auth.allowWholeType(req, 'GET', FILES_DOCTYPE);
    const noCache = bool(req.query.NoCache);
    // One check at a time per instance, on every process: each reads every content, so callers asking at once
    // wait for the running one and then take its cached answer instead of reading everything again.
    const logs = await deps.cluster.locks.withLock(`files:fsck:${inst.prefix}`, { ttlMs: 60_000, waitMs: 15 * 60_000 }, async () => {
      if (!noCache) {
        const hit = await deps.cluster.cache.get<FsckLog[]>(cacheKey(inst));
        if (hit) return hit;
      }
      const found: FsckLog[] = [];
      for await (const log of fsck(deps.store, deps.vfs, inst, { mode: 'files' })) {
        if (log.type === 'content_mismatch') found.push(log);
      }
      if (!noCache) await deps.cluster.cache.set(cacheKey(inst), found, CACHE_TTL_MS * (0.9 + Math.random() * 0.2));
      return found;
    });
    return reply.type('application/json').send(JSON.stringify(logs));
  });

  app.get<{ Querystring: Record<string, unknown> }>('/fsck/stream', async (req, reply) => {
    const inst = instanceOf(req);
    const auth = await deps.auth.authenticate(req);
    if (auth.kind !== 'cli' || !auth.permissions.allowWholeType('GET', FILES_DOCTYPE)) throw AuthErrors.forbidden();
    return reply.type('application/x-ndjson').send(fsckStream(deps, inst, fsckOptionsFrom(req.query)));
  });
}
