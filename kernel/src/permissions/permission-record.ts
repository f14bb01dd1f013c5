import type { Doc } from '../store/types.ts';
import type { ManifestPermissions } from './parse.ts';

export const PERMISSIONS_DOCTYPE = 'io.cozy.permissions';

/** cozy-stack's io.cozy.permissions types. `oauth` and `cli` are never stored: they come from a token's scope. */
export type PermissionType = 'app' | 'konnector' | 'share' | 'share-preview' | 'share-interact' | 'register' | 'oauth' | 'cli';

/** A stored permission document, as cozy-stack keeps it in io.cozy.permissions. */
export interface PermissionRecord extends Doc {
  type: PermissionType;
  /** Who made it: `io.cozy.apps/<slug>`, `io.cozy.oauth.clients/<id>`, ... */
  source_id: string;
  permissions: ManifestPermissions;
  /** Share codes: name → share JWT. */
  codes?: Record<string, string>;
  /** name → 12-char (or 6-digit tiny) short code standing for the code of the same name. */
  shortcodes?: Record<string, string>;
  expires_at?: string;
  /** scrypt hash of the share's password. */
  password?: string;
  created_at?: string;
  updated_at?: string;
}

/** What request authentication needs from the permission documents. */
export interface PermissionLookup {
  /** The permission document of an installed web app (`io.cozy.apps/<slug>`), or null. */
  forWebapp(inst: { domain: string; prefix: string }, slug: string): Promise<PermissionRecord | null>;
  /** The permission document of a konnector (`io.cozy.konnectors/<slug>`), or null. */
  forKonnector(inst: { domain: string; prefix: string }, slug: string): Promise<PermissionRecord | null>;
  /** The share permission document holding this share JWT among its codes, or null. */
  forShareCode(inst: { domain: string; prefix: string }, token: string): Promise<PermissionRecord | null>;
  /** The share JWT a short code stands for, or null. */
  tokenForShortcode(inst: { domain: string; prefix: string }, shortcode: string): Promise<string | null>;
}
