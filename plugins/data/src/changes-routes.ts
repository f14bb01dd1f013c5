import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readChangesQuery } from './changes.ts';
import type { DataServices, DoctypeParams } from './http-context.ts';
import type { Query } from './query-params.ts';

/** GET and POST /data/:doctype/_changes (POST = GET + a filter with its body, as in CouchDB). */
export function changesRoutes(app: FastifyInstance, s: DataServices): void {
  const feed = async (req: FastifyRequest<{ Params: DoctypeParams; Querystring: Query }>) => {
    const q = readChangesQuery(req.query, req.method === 'POST' ? 'POST' : 'GET');
    const { inst, access } = s.caller(req);
    return s.changes.feed(inst, access, req.params.doctype, q, req.body);
  };
  app.get('/:doctype/_changes', feed);
  app.post('/:doctype/_changes', feed);
}
