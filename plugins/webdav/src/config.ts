import type { JsonSchema } from '@cozy-ts/kernel';

export interface WebdavConfig {
  /** Largest XML body (PROPFIND, PROPPATCH, LOCK), in bytes; 413 above. */
  xmlBodyLimit: number;
  /** Lock timeout granted when the client asks for none or for Infinite, in seconds. */
  lockDefaultSeconds: number;
  /** Longest lock timeout granted, in seconds. */
  lockMaxSeconds: number;
  /** The realm named in `WWW-Authenticate`. */
  realm: string;
  /** Also serve the tree at Nextcloud's `/remote.php/webdav/` (and `/remote.php/dav/files/<user>/`). */
  nextcloudAlias: boolean;
}

export const defaults: WebdavConfig = {
  xmlBodyLimit: 1024 * 1024,
  lockDefaultSeconds: 3600,
  lockMaxSeconds: 86_400,
  realm: 'Cozy',
  nextcloudAlias: true,
};

export const configSchema: JsonSchema = {
  type: 'object',
  properties: {
    xmlBodyLimit: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, description: 'Largest XML request body, in bytes' },
    lockDefaultSeconds: { type: 'integer', minimum: 1, description: 'Lock timeout when the client asks for none or Infinite' },
    lockMaxSeconds: { type: 'integer', minimum: 1, description: 'Longest lock timeout granted' },
    realm: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^"\\\\]+$', description: 'Realm of WWW-Authenticate' },
    nextcloudAlias: { type: 'boolean', description: 'Also serve /remote.php/webdav/ and /remote.php/dav/files/<user>/' },
  },
  additionalProperties: false,
};
