import { createHash } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { OAUTH_CLIENTS_DOCTYPE, type AuthService } from '../auth/auth-service.ts';
import { changePassphrase, FORCE } from '../auth/onboarding.ts';
import { clientPassphraseHash, verifySecret } from '../auth/passphrase.ts';
import type { SessionService } from '../auth/sessions.ts';
import { OAuthClientService } from '../auth/oauth-clients.ts';
import type { ClusterPorts } from '../cluster/types.ts';
import type { Audience } from '../auth/tokens.ts';
import type { DocumentStore } from '../store/document-store.ts';
import { BoundedMap } from '../bounded-map.ts';
import { KernelErrors } from '../errors.ts';
import { toInstanceInfo, type InstanceDoc } from '../instances/instance.ts';
import type { CreateInstanceOptions, InstanceService, ModifyInstanceOptions } from '../instances/instance-service.ts';
import { KERNEL_VERSION } from '../version.ts';
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.ts';
import { jsonApiRenderer, setErrorFamily } from './error-edge.ts';
import type { MountedPlugin } from './server.ts';

export interface AdminServerOptions {
  log: Logger;
  instances: InstanceService;
  auth: AuthService;
  sessions: SessionService;
  store: DocumentStore;
  cluster: ClusterPorts;
  passphraseHash: string;
  describePlugins: () => unknown;
  /** Plugins whose `adminRoutes` are mounted after the kernel's own admin routes. */
  plugins?: MountedPlugin[];
}

function instanceResource(doc: InstanceDoc) {
  return { type: 'io.cozy.instances', id: doc.domain, attributes: toInstanceInfo(doc), meta: { rev: doc._rev } };
}

type Params = Record<string, unknown>;

/** The audience names cozy-stack's admin API accepts, long and short. */
const AUDIENCE_ALIASES: Record<string, Audience> = {
  app: 'app', webapp: 'app', konn: 'konn', konnector: 'konn', cli: 'cli',
  access: 'access', 'access-token': 'access', refresh: 'refresh', 'refresh-token': 'refresh',
};

/** cozy-stack's admin API takes parameters in the query string (Domain, Locale, ...); a JSON body works too. */
function params(req: FastifyRequest): Params {
  const body = req.body && typeof req.body === 'object' ? (req.body as Params) : {};
  return { ...(req.query as Params), ...body };
}

function str(p: Params, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = p[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

function quota(p: Params): number | null | undefined {
  const v = p.DiskQuota ?? p.disk_quota;
  if (v === undefined || v === '') return undefined;
  if (v === null || v === 0 || v === '0') return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw KernelErrors.badRequest('DiskQuota must be a number of bytes', { source: { parameter: 'DiskQuota' } });
  return n;
}

function modifyOptions(p: Params): ModifyInstanceOptions {
  const onboarded = p.OnboardingFinished ?? p.onboarding_finished;
  return {
    locale: str(p, 'Locale', 'locale'),
    email: str(p, 'Email', 'email'),
    publicName: str(p, 'PublicName', 'public_name'),
    tz: str(p, 'Timezone', 'tz'),
    diskQuota: quota(p),
    onboardingFinished: onboarded === undefined ? undefined : onboarded === true || onboarded === 'true',
  };
}

/**
 * The admin API the CLI talks to, on its own port (bound to loopback by default) and behind HTTP Basic auth
 * with the admin passphrase (any user name), as cozy-stack's.
 */
export async function buildAdminServer(opts: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'admin' }) as FastifyBaseLogger, bodyLimit: 64 * 1024, forceCloseConnections: 'idle',
    frameworkErrors: frameworkErrorHandler, clientErrorHandler,
  });
  setErrorFamily(app, jsonApiRenderer);
  // scrypt is slow on purpose; remember good credentials briefly so CLI loops stay fast.
  const verified = new BoundedMap<string, number>(100);
  app.addHook('onRequest', async (req) => {
    const auth = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth);
    const challenge = { headers: { 'www-authenticate': 'Basic realm="cozy-admin"' } };
    if (!m) throw KernelErrors.unauthorized('Admin passphrase required', challenge);
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    const digest = createHash('sha256').update(password).digest('hex');
    const until = verified.get(digest);
    if (until && until > Date.now()) return;
    const ok = await verifySecret(password, opts.passphraseHash);
    if (!ok) throw KernelErrors.forbidden('Invalid admin passphrase');
    verified.set(digest, Date.now() + 5 * 60_000);
  });

  app.get('/version', async () => ({ version: KERNEL_VERSION, runtime_version: process.version }));
  app.get('/plugins', async () => ({ data: opts.describePlugins() }));
  app.get('/instances', async () => {
    const list = await opts.instances.list();
    return { data: list.map(instanceResource), meta: { count: list.length } };
  });
  app.get('/instances/count', async () => ({ count: await opts.instances.count() }));
  app.post('/instances', async (req, reply) => {
    const p = params(req);
    const domain = str(p, 'Domain', 'domain');
    if (!domain) throw KernelErrors.badRequest('Missing Domain', { source: { parameter: 'Domain' } });
    const q = quota(p);
    const create: CreateInstanceOptions = {
      domain,
      locale: str(p, 'Locale', 'locale'),
      email: str(p, 'Email', 'email'),
      publicName: str(p, 'PublicName', 'public_name'),
      tz: str(p, 'Timezone', 'tz'),
      diskQuota: q ?? undefined,
      passphrase: str(p, 'Passphrase', 'passphrase'),
    };
    const doc = await opts.instances.create(create);
    return reply.status(201).send({ data: instanceResource(doc) });
  });
  app.post('/instances/token', async (req) => {
    const p = params(req);
    const inst = await opts.instances.get(str(p, 'Domain', 'domain') ?? '');
    const audience = AUDIENCE_ALIASES[str(p, 'Audience', 'audience') ?? ''];
    if (!audience) {
      throw KernelErrors.badRequest('Audience must be one of app, konn, cli, access, refresh', { source: { parameter: 'Audience' } });
    }
    const subject = str(p, 'Subject', 'subject') ?? '';
    if (audience === 'access' || audience === 'refresh') {
      // An OAuth token for a client that does not exist would be refused on first use: say so now.
      await opts.store.get(inst, OAUTH_CLIENTS_DOCTYPE, subject).catch(() => {
        throw KernelErrors.badRequest(`No OAuth client ${JSON.stringify(subject)} on ${inst.domain}`, { source: { parameter: 'Subject' } });
      });
    }
    const scope = str(p, 'Scope', 'scope');
    // cozy-stack answers the token as a JSON string.
    return JSON.stringify(await opts.auth.issueToken(inst, audience, { subject, scope }));
  });
  // `cozy instances client-oauth`: registers a client as POST /auth/register would, for scripts and tests.
  const clients = new OAuthClientService(opts.store, opts.instances, opts.cluster.locks);
  app.post('/instances/oauth_client', async (req, reply) => {
    const p = params(req);
    const inst = await opts.instances.get(str(p, 'Domain', 'domain') ?? '');
    const client = await clients.register(inst, {
      redirect_uris: [str(p, 'RedirectURI', 'redirect_uri') ?? ''],
      client_name: str(p, 'ClientName', 'client_name') ?? '',
      software_id: str(p, 'SoftwareID', 'software_id') ?? '',
    });
    return reply.status(201).send(client);
  });

  // `cozy instances set-passphrase`: the admin replaces a forgotten passphrase; every session and OAuth token dies.
  app.post<{ Params: { domain: string } }>('/instances/:domain/passphrase', async (req, reply) => {
    const pass = str(params(req), 'Passphrase', 'passphrase');
    if (!pass) throw KernelErrors.badRequest('Missing Passphrase', { source: { parameter: 'Passphrase' } });
    const inst = await opts.instances.get(req.params.domain);
    const hashed = await clientPassphraseHash(pass, inst.domain, inst.kdf_iterations);
    await changePassphrase({ instances: opts.instances, sessions: opts.sessions }, inst, FORCE, { passphrase: hashed }, null);
    if (!inst.onboarding_finished) await opts.instances.modify(inst.domain, { onboardingFinished: true });
    return reply.status(204).send();
  });
  app.get<{ Params: { domain: string } }>('/instances/:domain', async (req) => ({
    data: instanceResource(await opts.instances.get(req.params.domain)),
  }));
  app.patch<{ Params: { domain: string } }>('/instances/:domain', async (req) => ({
    data: instanceResource(await opts.instances.modify(req.params.domain, modifyOptions(params(req)))),
  }));
  app.delete<{ Params: { domain: string } }>('/instances/:domain', async (req, reply) => {
    await opts.instances.destroy(req.params.domain);
    return reply.status(204).send();
  });
  // Registered on the root context, so the passphrase hook above guards them; each in its own encapsulated scope.
  for (const { plugin, ctx } of opts.plugins ?? []) {
    const adminRoutes = plugin.adminRoutes;
    if (adminRoutes) await app.register(async (scoped) => adminRoutes(scoped, { ctx }));
  }
  return app;
}
