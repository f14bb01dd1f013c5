import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FILES_DOCTYPE, instanceOf, isCozyError, type AuthService, type FilesService, type RequestAuth } from '@cozy-ts/kernel';
import { nextcloudUser } from './identity.ts';
import { ocsError, ocsOk, sendOcs, type OcsValue, type OcsVersion } from './ocs.ts';
import { capabilities, statusDocument } from './server-info.ts';

export interface NextcloudApiDeps {
  auth: AuthService;
  files: FilesService;
  realm: string;
}

/** Nextcloud's quota object: `quota` -3 means unlimited. */
async function quotaOf(files: FilesService, req: FastifyRequest): Promise<OcsValue> {
  const { used, quota } = await files.diskUsage(instanceOf(req));
  if (quota === null) return { used, quota: -3, relative: 0 };
  const free = Math.max(0, quota - used);
  return { free, used, total: quota, relative: quota > 0 ? Math.round((used / quota) * 10_000) / 100 : 0, quota };
}

type OcsHandler = (req: FastifyRequest, who: RequestAuth, version: OcsVersion) => Promise<OcsValue>;

/**
 * `/status.php` and the OCS calls a Nextcloud client makes before it syncs: `cloud/capabilities` and `cloud/user`,
 * under `/ocs/v1.php` and `/ocs/v2.php`. OCS calls take the same credentials as the DAV mounts (through AUTH);
 * a failure is OCS's own envelope (997 in v1, 401 in v2) with HTTP 401 and the DAV mounts' challenge.
 */
export async function nextcloudApiRoutes(app: FastifyInstance, deps: NextcloudApiDeps): Promise<void> {
  app.get('/status.php', async (req, reply) => {
    // Only a known instance answers (an unknown Host is 404 here as everywhere).
    instanceOf(req);
    return reply.header('cache-control', 'no-store').send(statusDocument());
  });

  const challenge = `Basic realm="${deps.realm}", charset="UTF-8"`;
  const ocs = (version: OcsVersion, handler: OcsHandler) => async (req: FastifyRequest, reply: FastifyReply) => {
    instanceOf(req);
    let who: RequestAuth;
    try {
      who = await deps.auth.authenticate(req);
    } catch (err) {
      if (isCozyError(err) && (err.status === 400 || err.status === 401)) {
        void reply.header('www-authenticate', challenge);
        return sendOcs(req, reply, ocsError(version, 'unauthorised', 'Unauthorised'));
      }
      throw err;
    }
    return sendOcs(req, reply, ocsOk(version, await handler(req, who, version)));
  };

  const user: OcsHandler = async (req, who) => {
    const me = nextcloudUser(req, instanceOf(req));
    const out: Record<string, OcsValue> = { enabled: true, id: me.id, 'display-name': me.displayName, displayname: me.displayName, email: me.email };
    // The quota is the files' business: only for credentials that may read them.
    if (who.permissions.allowWholeType('GET', FILES_DOCTYPE)) out.quota = await quotaOf(deps.files, req);
    return out;
  };

  for (const version of [1, 2] as const) {
    const base = `/ocs/v${version}.php`;
    app.get(`${base}/cloud/capabilities`, ocs(version, async () => capabilities()));
    app.get(`${base}/cloud/user`, ocs(version, user));
    // Everything else under OCS is "not found" in OCS's envelope rather than the kernel's JSON:API error.
    app.all(`${base}/*`, async (req, reply) => sendOcs(req, reply, ocsError(version, 'not-found', 'Invalid query, please check the syntax.')));
  }
}
