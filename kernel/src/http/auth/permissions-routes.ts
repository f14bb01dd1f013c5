import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthErrors } from '../../auth/auth-errors.ts';
import { KernelErrors } from '../../errors.ts';
import type { DocRef } from '../../permissions/permission-docs.ts';
import { PermissionSet } from '../../permissions/permission-set.ts';
import { callerOf, canView } from '../../permissions/share-policy.ts';
import { ShareErrors } from '../../permissions/share-errors.ts';
import { JSONAPI_CONTENT_TYPE, acceptJsonApi, readResource, type JsonApiResource } from '../jsonapi.ts';
import { nextPageParams, readPageQuery } from '../pagination.ts';
import { instanceOf } from '../request-context.ts';
import type { AuthRouteDeps } from './deps.ts';
import { permissionResource, selfResource } from './permission-resources.ts';

/**
 * /permissions, as cozy-stack's web/permissions: the token's own permissions, shares by link (create, show,
 * patch, revoke), which documents are shared, and the shares of a doctype. HTTP only: every decision is in
 * PermissionDocService and share-policy.ts.
 */

const SHARE = 'share';
const LIST_DEFAULT_LIMIT = 30;
const LIST_MAX_LIMIT = 100;
// Go's strconv.ParseBool, which cozy-stack reads `tiny` with.
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

type WithId = { Params: { id: string } };
type WithDoctype = { Params: { doctype: string } };

function queryParam(req: FastifyRequest, name: string): string | undefined {
  const value = (req.query as Record<string, unknown> | undefined)?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

function sendData(reply: FastifyReply, data: JsonApiResource | JsonApiResource[], extra: Record<string, unknown> = {}) {
  return reply.type(JSONAPI_CONTENT_TYPE).send({ data, ...extra });
}

/** `{data: [{type, id}, …]}`, the body of POST /permissions/exists. */
function readReferences(body: unknown): DocRef[] {
  const data = (body as { data?: unknown } | null)?.data;
  const valid = (ref: unknown): ref is DocRef =>
    typeof (ref as DocRef | null)?.type === 'string' && typeof (ref as DocRef | null)?.id === 'string';
  if (!Array.isArray(data) || !data.every(valid)) {
    throw KernelErrors.invalidBody('Expected {"data": [{"type": …, "id": …}, …]}', { source: { pointer: '/data' } });
  }
  return data.map(({ type, id }) => ({ type, id }));
}

export async function permissionsRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const { auth, permissions } = deps;
  // JSON:API clients send their own media type, which fastify does not parse by itself.
  acceptJsonApi(app);

  app.get('/permissions/self', async (req, reply) => sendData(reply, selfResource(await auth.authenticate(req))));

  app.post('/permissions', async (req, reply) => {
    const caller = callerOf(await auth.authenticate(req));
    const { attributes } = readResource(req.body);
    const doc = await permissions.createShareSet(instanceOf(req), caller, {
      permissions: PermissionSet.fromManifest(attributes.permissions),
      codeNames: (queryParam(req, 'codes') ?? '').split(','),
      ttl: queryParam(req, 'ttl'),
      tiny: TRUE_WORDS.has(queryParam(req, 'tiny') ?? ''),
      expiresAt: attributes.expires_at,
      password: attributes.password,
      metadata: attributes.cozyMetadata,
    });
    return sendData(reply, permissionResource(doc, { codes: true }));
  });

  app.post('/permissions/exists', async (req, reply) => {
    const current = await auth.authenticate(req);
    // Whether a document is shared is only told to who may read it.
    const refs = readReferences(req.body).filter((ref) => current.permissions.allowId('GET', ref.type, ref.id));
    return reply.type(JSONAPI_CONTENT_TYPE).send({ data: await permissions.sharedVerbs(instanceOf(req), refs) });
  });

  app.get<WithId>('/permissions/:id', async (req, reply) => {
    const caller = callerOf(await auth.authenticate(req));
    const doc = await permissions.find(instanceOf(req), req.params.id);
    if (!canView(caller, doc)) throw AuthErrors.forbidden();
    return sendData(reply, permissionResource(doc, { codes: false }));
  });

  app.patch<WithId>('/permissions/:id', async (req, reply) => {
    const caller = callerOf(await auth.authenticate(req));
    const { attributes } = readResource(req.body);
    const doc = await permissions.patch(instanceOf(req), caller, req.params.id, {
      permissions: attributes.permissions,
      codes: attributes.codes,
      password: attributes.password,
      expiresAt: attributes.expires_at,
      metadata: attributes.cozyMetadata,
    });
    return sendData(reply, permissionResource(doc, { codes: true }));
  });

  app.delete<WithId>('/permissions/:id', async (req, reply) => {
    const caller = callerOf(await auth.authenticate(req));
    await permissions.revoke(instanceOf(req), caller, req.params.id);
    return reply.status(204).send();
  });

  // `sharedByLink` is the legacy spelling cozy-stack still routes.
  for (const route of ['shared-by-link', 'sharedByLink']) {
    app.get<WithDoctype>(`/permissions/doctype/:doctype/${route}`, async (req, reply) => {
      const { doctype } = req.params;
      const current = await auth.authenticate(req);
      if (!current.permissions.allowWholeType('GET', doctype)) throw ShareErrors.listForbidden();
      const page = readPageQuery(req.query, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
      const listed = await permissions.listByDoctype(instanceOf(req), SHARE, doctype, {
        limit: page.limit,
        cursor: page.cursor?.docId,
        skip: page.skip,
      });
      const links: Record<string, string> = {};
      if (listed.next) {
        const next = 'skip' in listed.next ? listed.next : { cursor: { key: [doctype, SHARE], docId: listed.next.cursor } };
        links.next = `/permissions/doctype/${encodeURIComponent(doctype)}/${route}?${nextPageParams(page.limit, next)}`;
      }
      const data = listed.items.map((doc) => permissionResource(doc, { codes: true }));
      return sendData(reply, data, { links, meta: { count: data.length } });
    });
  }
}
