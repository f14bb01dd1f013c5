import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allDocs, readAllDocsQuery } from './all-docs.ts';
import type { DataServices, DoctypeParams } from './http-context.ts';
import { defineIndex } from './mango-index.ts';
import { normalDocs } from './normal-docs.ts';
import type { Query } from './query-params.ts';

/** The routes about a whole doctype (or all of them): databases, listings, Mango, bulk writes. */
export function collectionRoutes(app: FastifyInstance, s: DataServices): void {
  // No auth, as in cozy: it is what a CouchDB replicator probes first.
  app.get('/', async () => ({ message: 'welcome to a cozy API' }));

  app.get('/_all_doctypes', async (req) => {
    const { inst, access } = s.caller(req);
    return s.databases.allDoctypes(inst, access);
  });

  app.get<{ Params: DoctypeParams }>('/:doctype/', async (req) => {
    const { inst, access } = s.caller(req);
    return s.databases.info(inst, access, req.params.doctype);
  });

  app.put<{ Params: DoctypeParams }>('/:doctype/', async (req, reply) => {
    const { inst, access } = s.caller(req);
    return reply.status(201).send(await s.databases.create(inst, access, req.params.doctype));
  });

  app.delete<{ Params: DoctypeParams }>('/:doctype/', async (req) => {
    const { inst, access } = s.caller(req);
    return s.databases.destroy(inst, access, req.params.doctype);
  });

  // POST takes `keys` in its body; both take CouchDB's query parameters.
  const listAll = async (req: FastifyRequest<{ Params: DoctypeParams; Querystring: Query }>) => {
    const { inst, access } = s.caller(req);
    return allDocs(s.store, inst, access, req.params.doctype, readAllDocsQuery(req.query, req.body));
  };
  app.get<{ Params: DoctypeParams; Querystring: Query }>('/:doctype/_all_docs', listAll);
  app.post<{ Params: DoctypeParams; Querystring: Query }>('/:doctype/_all_docs', listAll);

  app.get<{ Params: DoctypeParams; Querystring: Query }>('/:doctype/_normal_docs', async (req) => {
    const { inst, access } = s.caller(req);
    return normalDocs(s.store, inst, access, req.params.doctype, req.query);
  });

  app.post<{ Params: DoctypeParams }>('/:doctype/_index', async (req) => {
    const { inst, access } = s.caller(req);
    return defineIndex(s.store, inst, access, req.params.doctype, req.body);
  });

  app.post<{ Params: DoctypeParams }>('/:doctype/_find', async (req) => {
    const { inst, access } = s.caller(req);
    return s.finder.find(inst, access, req.params.doctype, req.body);
  });

  app.post<{ Params: DoctypeParams }>('/:doctype/_bulk_docs', async (req, reply) => {
    const { inst, access } = s.caller(req);
    return reply.status(201).send(await s.bulk.write(inst, access, req.params.doctype, req.body));
  });
}
