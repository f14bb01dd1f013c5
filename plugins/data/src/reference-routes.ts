import type { FastifyInstance } from 'fastify';
import { JSONAPI_CONTENT_TYPE } from '@cozy-ts/kernel';
import type { DataServices, DocParams } from './http-context.ts';
import type { Query } from './query-params.ts';

const PATH = '/:doctype/:docid/relationships/references';

/** The files referencing a document, in JSON:API (errors stay CouchDB-style: cozy mounts these under /data). */
export function referenceRoutes(app: FastifyInstance, s: DataServices): void {
  app.get<{ Params: DocParams; Querystring: Query }>(PATH, async (req, reply) => {
    const { inst, access } = s.caller(req);
    const page = await s.references.list(inst, access, req.params.doctype, req.params.docid, req.query);
    const path = req.url.split('?')[0] as string;
    const body = {
      data: page.data,
      meta: page.meta,
      links: page.next ? { next: `${path}?${page.next}` } : {},
      ...(page.included && page.included.length > 0 ? { included: page.included } : {}),
    };
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify(body));
  });

  app.post<{ Params: DocParams }>(PATH, async (req, reply) => {
    const { inst, access } = s.caller(req);
    await s.references.add(inst, access, req.params.doctype, req.params.docid, req.body);
    return reply.status(204).send();
  });

  app.delete<{ Params: DocParams }>(PATH, async (req, reply) => {
    const { inst, access } = s.caller(req);
    await s.references.remove(inst, access, req.params.doctype, req.params.docid, req.body);
    return reply.status(204).send();
  });
}
