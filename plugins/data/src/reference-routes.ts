import type { FastifyInstance } from 'fastify';
import { JSONAPI_CONTENT_TYPE } from '@cozy-ts/kernel';
import type { DataServices, DocParams } from './http-context.ts';
import type { Query } from './query-params.ts';

const RELATIONSHIPS = {
  /** The files referencing a document. */
  references: '/:doctype/:docid/relationships/references',
  /** The directories a device does not synchronize. */
  notSynchronizing: '/:doctype/:docid/relationships/not_synchronizing',
} as const;

/** The io.cozy.files relationships of a document, in JSON:API (errors stay CouchDB-style: cozy mounts these under /data). */
export function referenceRoutes(app: FastifyInstance, s: DataServices): void {
  for (const [name, path] of Object.entries(RELATIONSHIPS) as Array<[keyof typeof RELATIONSHIPS, string]>) {
    relationshipRoutes(app, s, path, name);
  }
}

function relationshipRoutes(app: FastifyInstance, s: DataServices, path: string, name: 'references' | 'notSynchronizing'): void {
  app.get<{ Params: DocParams; Querystring: Query }>(path, async (req, reply) => {
    const { inst, access } = s.caller(req);
    const page = await s[name].list(inst, access, req.params.doctype, req.params.docid, req.query);
    const urlPath = req.url.split('?')[0] as string;
    const body = {
      data: page.data,
      meta: page.meta,
      links: page.next ? { next: `${urlPath}?${page.next}` } : {},
      ...(page.included && page.included.length > 0 ? { included: page.included } : {}),
    };
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify(body));
  });

  app.post<{ Params: DocParams }>(path, async (req, reply) => {
    const { inst, access } = s.caller(req);
    await s[name].add(inst, access, req.params.doctype, req.params.docid, req.body);
    return reply.status(204).send();
  });

  app.delete<{ Params: DocParams }>(path, async (req, reply) => {
    const { inst, access } = s.caller(req);
    await s[name].remove(inst, access, req.params.doctype, req.params.docid, req.body);
    return reply.status(204).send();
  });
}
