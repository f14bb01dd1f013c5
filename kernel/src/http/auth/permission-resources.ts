import type { RequestAuth } from '../../auth/auth-service.ts';
import { PERMISSIONS_DOCTYPE, type PermissionRecord } from '../../permissions/permission-record.ts';
import { toResource, type JsonApiResource } from '../jsonapi.ts';

/** How permission documents look in JSON:API answers (cozy-stack's APIPermission). */

const SHARINGS = 'io.cozy.sharings';

export interface RenderOptions {
  /**
   * Whether the share codes are shown. Only their maker sees them (creation, PATCH, the per-doctype
   * listing that needs GET on the whole doctype); /self and show strip them, as cozy-stack.
   */
  codes: boolean;
}

/** The password hash never leaves the server: `password: true` only says there is one. */
export function permissionResource(doc: PermissionRecord, opts: RenderOptions): JsonApiResource {
  const { codes, shortcodes, password, ...rest } = doc;
  const shown: Record<string, unknown> = { ...rest };
  if (opts.codes && codes) shown.codes = codes;
  if (opts.codes && shortcodes) shown.shortcodes = shortcodes;
  if (password) shown.password = true;
  const links: NonNullable<JsonApiResource['links']> = { self: `/permissions/${doc._id}` };
  const [kind, sharingId] = (doc.source_id ?? '').split('/', 2);
  if (kind === SHARINGS && sharingId) links.related = `/sharings/${sharingId}`;
  return toResource(PERMISSIONS_DOCTYPE, shown, links);
}

/**
 * The permission document of the request's token. OAuth, CLI and device tokens have none stored, so one is
 * made from their scope with an empty id, as cozy-stack's GetForOauth / GetForCLI.
 */
export function selfResource(auth: RequestAuth): JsonApiResource {
  if (auth.record) return permissionResource(auth.record, { codes: false });
  const synthetic: Record<string, unknown> = { _id: '', type: auth.kind };
  if (auth.kind === 'oauth') synthetic.source_id = auth.subject;
  synthetic.permissions = auth.permissions.toJSON();
  return toResource(PERMISSIONS_DOCTYPE, synthetic, { self: '/permissions/' });
}
