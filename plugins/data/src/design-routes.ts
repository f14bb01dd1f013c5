import type { FastifyInstance } from 'fastify';
import type { DataServices, DesignParams, DoctypeParams } from './http-context.ts';
import { param, type Query } from './query-params.ts';

/** Design documents: read, list, delete (`?rev=`), copy (`Destination` header). */
export function designRoutes(app: FastifyInstance, s: DataServices): void {
  app.get<{ Params: DesignParams }>('/:doctype/_design/:ddoc', async (req) => {
    const { inst, access } = s.caller(req);
    return s.designDocs.get(inst, access, req.params.doctype, req.params.ddoc);
  });

  app.get<{ Params: DoctypeParams; Querystring: Query }>('/:doctype/_design_docs', async (req) => {
    const { inst, access } = s.caller(req);
    return s.designDocs.list(inst, access, req.params.doctype, req.query);
  });

  app.delete<{ Params: DesignParams; Querystring: Query }>('/:doctype/_design/:ddoc', async (req) => {
    const { inst, access } = s.caller(req);
    return s.designDocs.delete(inst, access, req.params.doctype, req.params.ddoc, param(req.query, 'rev'));
  });

  app.post<{ Params: DesignParams }>('/:doctype/_design/:ddoc/copy', async (req, reply) => {
    const { inst, access } = s.caller(req);
    const destination = req.headers.destination;
    const copied = await s.designDocs.copy(inst, access, req.params.doctype, req.params.ddoc, typeof destination === 'string' ? destination : undefined);
    return reply.status(201).send(copied);
  });
}
