import type { FastifyInstance } from 'fastify';
import type { DataServices, DocParams, DoctypeParams } from './http-context.ts';
import { param, type Query } from './query-params.ts';

/** GET / PUT / DELETE /data/:doctype/:docid and POST /data/:doctype/. Ids arrive URL-decoded (`with%2Fslash`). */
export function docRoutes(app: FastifyInstance, s: DataServices): void {
  app.get<{ Params: DocParams; Querystring: Query }>('/:doctype/:docid', async (req) => {
    const { inst, access } = s.caller(req);
    const opts = { revs: param(req.query, 'revs') === 'true', includeCredentials: param(req.query, 'include') === 'credentials' };
    return s.documents.get(inst, access, req.params.doctype, req.params.docid, opts);
  });

  app.post<{ Params: DoctypeParams }>('/:doctype/', async (req, reply) => {
    const { inst, access } = s.caller(req);
    return reply.status(201).send(await s.documents.create(inst, access, req.params.doctype, req.body));
  });

  app.put<{ Params: DocParams }>('/:doctype/:docid', async (req) => {
    const { inst, access } = s.caller(req);
    return s.documents.put(inst, access, req.params.doctype, req.params.docid, req.body);
  });

  app.delete<{ Params: DocParams; Querystring: Query }>('/:doctype/:docid', async (req) => {
    const { inst, access } = s.caller(req);
    const header = req.headers['if-match'];
    const revs = { query: param(req.query, 'rev'), header: typeof header === 'string' ? header : undefined };
    return s.documents.delete(inst, access, req.params.doctype, req.params.docid, revs);
  });
}
