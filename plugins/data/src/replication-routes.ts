import type { FastifyInstance } from 'fastify';
import { DataErrors } from './data-errors.ts';

/**
 * The PouchDB replication endpoints cozy-stack proxies to CouchDB and the store port cannot serve (revision trees,
 * local checkpoints). They answer 501 rather than a 404 that would read as "no such document".
 */
const MISSING: Array<{ method: 'GET' | 'POST' | 'PUT'; path: string; name: string }> = [
  { method: 'POST', path: '/:doctype/_bulk_get', name: '_bulk_get' },
  { method: 'POST', path: '/:doctype/_revs_diff', name: '_revs_diff' },
  { method: 'POST', path: '/:doctype/_ensure_full_commit', name: '_ensure_full_commit' },
  { method: 'GET', path: '/:doctype/_local/:docid', name: '_local documents' },
  { method: 'PUT', path: '/:doctype/_local/:docid', name: '_local documents' },
];

export function replicationRoutes(app: FastifyInstance): void {
  for (const { method, path, name } of MISSING) {
    app.route({ method, url: path, handler: async () => Promise.reject(DataErrors.notImplemented(name)) });
  }
}
