import type { FastifyInstance } from 'fastify';
import {
  AUTH, DEVICE_PASSWORDS, INSTANCES, SESSIONS, STORE, INSTANCE_SETTINGS_ID, SETTINGS_DOCTYPE, JSONAPI_CONTENT_TYPE, acceptJsonApi,
  AuthErrors, KernelErrors, instanceOf, readResource, toResource, type PluginContext, type Doc,
} from '@cozy-ts/kernel';
import { readSettings, withDerivedFields, writeSettings } from './instance-settings.ts';
import { passphraseRoutes } from './passphrase-routes.ts';

const SESSIONS_DOCTYPE = 'io.cozy.sessions';
const CLIENTS_DOCTYPE = 'io.cozy.oauth.clients';
const DEVICE_DOCTYPE = 'io.cozy.auth.device_passwords';
/** OAuth client fields that are secrets and never listed. */
const CLIENT_SECRETS = ['client_secret', 'registration_access_token'];

export async function settingsRoutes(app: FastifyInstance, { ctx }: { ctx: PluginContext<Record<string, never>> }): Promise<void> {
  const auth = ctx.use(AUTH);
  const store = ctx.use(STORE);
  const instances = ctx.use(INSTANCES);
  const sessions = ctx.use(SESSIONS);
  const devices = ctx.use(DEVICE_PASSWORDS);

  // PUT /settings/instance takes a JSON:API document.
  acceptJsonApi(app);

  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.getHeader('content-type')?.toString().startsWith('application/json')) reply.type(JSONAPI_CONTENT_TYPE);
    return payload;
  });

  app.get('/instance', async (req) => {
    // Any application with a valid token may read the instance settings (cozy-stack).
    await auth.authenticate(req);
    const inst = instanceOf(req);
    const doc = withDerivedFields(await readSettings(store, inst), inst);
    return { data: toResource(SETTINGS_DOCTYPE, doc, { self: '/settings/instance' }) };
  });

  app.put('/instance', async (req) => {
    const inst = instanceOf(req);
    const body = readResource(req.body);
    const caller = await auth.allow(req, 'PUT', SETTINGS_DOCTYPE, { _id: INSTANCE_SETTINGS_ID, ...body.attributes });
    const { doc, inst: updated } = await writeSettings(store, instances, inst, body.attributes, body.rev, caller.kind === 'cli');
    return { data: toResource(SETTINGS_DOCTYPE, withDerivedFields(doc, updated), { self: '/settings/instance' }) };
  });

  app.get('/capabilities', async (req) => {
    await auth.authenticate(req);
    return {
      data: {
        type: SETTINGS_DOCTYPE,
        id: 'io.cozy.settings.capabilities',
        attributes: {
          file_versioning: true,
          flat_subdomains: false,
          can_auth_with_password: true,
          can_auth_with_magic_links: false,
          can_auth_with_oidc: false,
        },
        links: { self: '/settings/capabilities' },
      },
    };
  });

  passphraseRoutes(app, { auth, instances, sessions });

  app.get('/hint', async (req, reply) => {
    await auth.allowWholeType(req, 'GET', SETTINGS_DOCTYPE);
    // The hint itself is never returned over the API: only whether one exists (cozy mails it to the owner).
    // cozy-stack answers a missing hint with a JSON:API 404, as every other error of this API.
    if (!instanceOf(req).passphrase_hint) throw KernelErrors.notFound('No hint');
    return reply.status(204).send();
  });

  app.put('/hint', async (req, reply) => {
    await auth.allow(req, 'PUT', SETTINGS_DOCTYPE, { _id: 'io.cozy.settings.passphrase' });
    const hint = (req.body as { hint?: unknown } | null)?.hint;
    if (typeof hint !== 'string' || hint.length > 1000) throw KernelErrors.badRequest('hint must be a string of at most 1000 characters', { source: { pointer: '/hint' } });
    const inst = await instances.get(instanceOf(req).domain);
    inst.passphrase_hint = hint || undefined;
    await instances.save(inst);
    return reply.status(204).send();
  });

  app.get('/sessions', async (req) => {
    await auth.allowWholeType(req, 'GET', SESSIONS_DOCTYPE);
    const list = await sessions.list(instanceOf(req));
    return { data: list.map((s) => toResource(SESSIONS_DOCTYPE, s)), meta: { count: list.length } };
  });

  app.get('/sessions/current', async (req) => {
    const session = await auth.session(req);
    if (!session) throw AuthErrors.forbidden('No session');
    await auth.allowWholeType(req, 'GET', SESSIONS_DOCTYPE);
    return { data: toResource(SESSIONS_DOCTYPE, session) };
  });

  app.get('/clients', async (req) => {
    await auth.allowWholeType(req, 'GET', CLIENTS_DOCTYPE);
    const res = await store.allDocs(instanceOf(req), CLIENTS_DOCTYPE, { include_docs: true }).catch(() => ({ rows: [] }));
    const clients = res.rows
      .map((r) => r.doc)
      .filter((d): d is Doc => !!d && !d._id.startsWith('_design/'))
      .map((d) => Object.fromEntries(Object.entries(d).filter(([k]) => !CLIENT_SECRETS.includes(k))) as Doc);
    return { data: clients.map((c) => toResource(CLIENTS_DOCTYPE, c)), meta: { count: clients.length } };
  });

  app.delete<{ Params: { id: string } }>('/clients/:id', async (req, reply) => {
    await auth.allowWholeType(req, 'DELETE', CLIENTS_DOCTYPE);
    const inst = instanceOf(req);
    const client = await store.get(inst, CLIENTS_DOCTYPE, req.params.id);
    // Deleting the client is the revocation: every access and refresh token names it and dies with it.
    await store.delete(inst, CLIENTS_DOCTYPE, client._id, client._rev as string, { old: client });
    return reply.status(204).send();
  });

  app.get('/device-passwords', async (req) => {
    await auth.allowWholeType(req, 'GET', DEVICE_DOCTYPE);
    const list = await devices.list(instanceOf(req));
    return { data: list.map((d) => toResource(DEVICE_DOCTYPE, d)), meta: { count: list.length } };
  });

  app.post('/device-passwords', async (req, reply) => {
    await auth.allowWholeType(req, 'POST', DEVICE_DOCTYPE);
    const { attributes } = readResource(req.body);
    const scopes = Array.isArray(attributes.scopes) ? attributes.scopes.map(String) : [];
    const { doc, password } = await devices.create(instanceOf(req), String(attributes.label ?? ''), scopes);
    // The clear password is shown this once; only its hash is kept.
    const resource = toResource(DEVICE_DOCTYPE, doc);
    resource.attributes.password = password;
    return reply.status(201).send({ data: resource });
  });

  app.delete<{ Params: { id: string } }>('/device-passwords/:id', async (req, reply) => {
    await auth.allowWholeType(req, 'DELETE', DEVICE_DOCTYPE);
    const gone = await devices.revoke(instanceOf(req), req.params.id);
    if (!gone) throw KernelErrors.notFound('No such device password');
    return reply.status(204).send();
  });
}
