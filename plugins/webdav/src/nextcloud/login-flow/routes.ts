import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CSRF_FIELD, acceptForms, checkCsrf, defineError, domainWithoutPort, instanceOf, isCozyError, issueCsrf,
  type AuthService, type Cache, type DevicePasswordService, type InstanceDoc,
} from '@cozy-ts/kernel';
import { LoginFlows, type FlowCredentials, type FlowKind, type FlowRecord } from './flow-store.ts';
import { deniedPage, donePage, errorPage, grantPage, pickerPage, type FlowPageInfo, type Page } from './pages.ts';

export const LoginFlowErrors = {
  missingToken: defineError('COZY_ERR_LOGIN_FLOW_TOKEN_MISSING', 400, 'The poll token is missing'),
  tooMany: defineError('COZY_ERR_LOGIN_FLOW_TOO_MANY', 429, 'Too many login flows started from this address, try again later'),
};

export interface LoginFlowDeps {
  auth: AuthService;
  devices: DevicePasswordService;
  cache: Cache;
  /** Lifetime of a flow (Nextcloud's 20 minutes unless a test says otherwise). */
  ttlMs?: number;
}

/** Nextcloud serves its pages both with and without the front controller in the path; clients use either. */
const PREFIXES = ['', '/index.php'];
/** Flows one address may start on one instance per window: each is cache memory held for 20 minutes. */
const STARTS_PER_WINDOW = 100;
const STARTS_WINDOW_MS = 10 * 60 * 1000;

const NOT_FOUND = 'This login link is invalid, has expired or was already used. Start again from your client.';
const LABEL_MAX = 200;

function field(src: unknown, name: string): string | undefined {
  const v = src && typeof src === 'object' ? (src as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function originOf(req: FastifyRequest): string {
  return `${req.protocol === 'https' ? 'https' : 'http'}://${instanceOf(req).domain}`;
}

/** The page's path for a flow of each kind: the address the client opens (v2) or is sent to (v1). */
function flowPath(kind: FlowKind, token: string): string {
  return kind === 'v2' ? `/login/v2/flow/${token}` : `/login/flow/${token}`;
}

/** The kernel's login page, coming back to `back` once logged in (it only accepts addresses on the instance). */
function loginUrl(req: FastifyRequest, back: string): string {
  return `${originOf(req)}/auth/login?${new URLSearchParams({ redirect: back })}`;
}

/**
 * The login a client is given. An instance has one user and a device password works under any Basic login, so
 * this only has to be stable and usable as a path segment and a Basic login: the domain without its port (a `:`
 * would end a Basic login). The client then sends it as its Basic login, which `cloud/user` answers as its id.
 */
function loginNameOf(inst: InstanceDoc): string {
  return domainWithoutPort(inst.domain);
}

/** The client's name as Nextcloud takes it: its User-Agent, kept printable and short enough for a label. */
function clientName(req: FastifyRequest): string {
  const ua = String(req.headers['user-agent'] ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return ua ? Array.from(ua).slice(0, LABEL_MAX).join('') : 'unknown';
}

function infoOf(inst: InstanceDoc, flow: FlowRecord): FlowPageInfo {
  return { client: flow.client, instanceName: inst.public_name || inst.domain, domain: inst.domain };
}

function send(reply: FastifyReply, page: Page): FastifyReply {
  return reply.status(page.status).headers(page.headers).send(page.body);
}

/** Nextcloud's flow v1 hand-over: the app catches this address; values urlencoded as Nextcloud does. */
function ncUrl(creds: FlowCredentials): string {
  return `nc://login/server:${creds.server}&user:${encodeURIComponent(creds.loginName)}&password:${encodeURIComponent(creds.appPassword)}`;
}

/**
 * Nextcloud's Login Flow v2 (desktop client 3.x, mobile apps) and v1 (older mobile apps), ending in a device
 * password scoped to files:
 * - `POST /login/v2` starts a flow: `{ poll: { token, endpoint }, login }`; the client opens `login` in a browser
 *   and polls `POST /login/v2/poll` with `token=`: 404 until the user grants, then once the credentials;
 * - `GET /login/flow` (with `OCS-APIREQUEST: true`, from the app's web view) starts a v1 flow, whose grant
 *   redirects to `nc://login/server:…&user:…&password:…`;
 * - the browser pages (`/login/v2/flow/<token>`, `/login/flow/<token>`) name the client, send the user to the
 *   instance's own login when there is no session, and grant or deny with a CSRF-protected form.
 * Every path is also served under `/index.php`. State is in the cluster cache (flow-store.ts).
 */
export async function loginFlowRoutes(app: FastifyInstance, deps: LoginFlowDeps): Promise<void> {
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) acceptForms(app);
  const flows = new LoginFlows(deps.cache, deps.ttlMs);

  async function begin(req: FastifyRequest, kind: FlowKind): Promise<{ loginToken: string; pollToken?: string }> {
    const inst = instanceOf(req);
    const starts = await deps.cache.increment(`webdav:login-flow:${inst.domain}:starts:${req.ip}`, STARTS_WINDOW_MS);
    if (starts > STARTS_PER_WINDOW) throw LoginFlowErrors.tooMany(undefined, { headers: { 'retry-after': String(STARTS_WINDOW_MS / 1000) } });
    return flows.start(inst, kind, clientName(req));
  }

  const init = async (req: FastifyRequest, reply: FastifyReply) => {
    const { loginToken, pollToken } = await begin(req, 'v2');
    const origin = originOf(req);
    return reply
      .header('cache-control', 'no-store')
      .send({ poll: { token: pollToken, endpoint: `${origin}/login/v2/poll` }, login: `${origin}${flowPath('v2', loginToken)}` });
  };

  const poll = async (req: FastifyRequest, reply: FastifyReply) => {
    const token = field(req.body, 'token') ?? field(req.query, 'token');
    if (!token) throw LoginFlowErrors.missingToken();
    const creds = await flows.poll(instanceOf(req), token);
    void reply.header('cache-control', 'no-store');
    // Nextcloud's answers: its credentials object, or an empty JSON array with 404 (pending, used, unknown).
    if (!creds) return reply.status(404).send([]);
    return reply.send({ server: creds.server, loginName: creds.loginName, appPassword: creds.appPassword });
  };

  const startV1 = async (req: FastifyRequest, reply: FastifyReply) => {
    // As Nextcloud: only an app's web view (which sends this header) may start the flow that hands it a password.
    if (String(req.headers['ocs-apirequest'] ?? '').toLowerCase() !== 'true') return send(reply, errorPage(403, 'Access forbidden: invalid request.'));
    const { loginToken } = await begin(req, 'v1');
    return reply.header('cache-control', 'no-store').redirect(`${originOf(req)}${flowPath('v1', loginToken)}`, 303);
  };

  const landing = (kind: FlowKind) => async (req: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
    const inst = instanceOf(req);
    const { token } = req.params;
    const flow = await flows.find(inst, token);
    if (!flow || flow.kind !== kind) return send(reply, errorPage(404, NOT_FOUND));
    const info = infoOf(inst, flow);
    if (!(await deps.auth.session(req))) return send(reply, pickerPage(info, loginUrl(req, `${originOf(req)}${flowPath(kind, token)}`)));
    return send(reply, grantPage(info, flowPath(kind, token), issueCsrf(req, reply, inst), kind === 'v1'));
  };

  const decide = (kind: FlowKind) => async (req: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
    const inst = instanceOf(req);
    const { token } = req.params;
    const pending = await flows.find(inst, token);
    if (!pending || pending.kind !== kind) return send(reply, errorPage(404, NOT_FOUND));
    if (!(await deps.auth.session(req))) {
      return reply.header('cache-control', 'no-store').redirect(loginUrl(req, `${originOf(req)}${flowPath(kind, token)}`), 303);
    }
    try {
      checkCsrf(req, inst, field(req.body, CSRF_FIELD));
    } catch (err) {
      if (isCozyError(err)) return send(reply, errorPage(err.status, `The form has expired or did not come from this page (${err.detail}). Reload the page and try again.`));
      throw err;
    }
    const action = field(req.body, 'action');
    if (action !== 'grant' && action !== 'deny') return send(reply, errorPage(400, 'Choose to grant or to deny access.'));
    // Taken out of the cache: a second submission, here or on another process, finds nothing.
    const flow = await flows.claim(inst, token);
    if (!flow || flow.kind !== kind) return send(reply, errorPage(404, NOT_FOUND));
    const info = infoOf(inst, flow);
    if (action === 'deny') return send(reply, deniedPage(info));
    const { password } = await deps.devices.create(inst, flow.client, ['files']);
    const creds: FlowCredentials = { server: originOf(req), loginName: loginNameOf(inst), appPassword: password };
    if (kind === 'v1') return reply.header('cache-control', 'no-store').redirect(ncUrl(creds), 303);
    await flows.grant(inst, flow, creds);
    return send(reply, donePage(info));
  };

  for (const p of PREFIXES) {
    app.post(`${p}/login/v2`, init);
    app.post(`${p}/login/v2/poll`, poll);
    app.get(`${p}/login/v2/flow/:token`, landing('v2'));
    app.post(`${p}/login/v2/flow/:token`, decide('v2'));
    app.get(`${p}/login/flow`, startV1);
    app.get(`${p}/login/flow/:token`, landing('v1'));
    app.post(`${p}/login/flow/:token`, decide('v1'));
  }
}
