import type { OcsValue } from './ocs.ts';

/**
 * The Nextcloud server version we answer as. Clients gate protocol features on it (the per-user DAV address,
 * `oc:share-types`, ...) and warn about servers older than they support; every feature they gate on a capability
 * instead is left out of `capabilities()` unless it is served.
 */
export const NEXTCLOUD_VERSION = { major: 25, minor: 0, micro: 0 } as const;
const VERSION_STRING = `${NEXTCLOUD_VERSION.major}.${NEXTCLOUD_VERSION.minor}.${NEXTCLOUD_VERSION.micro}`;
export const PRODUCT_NAME = 'Cozy';

/** `GET /status.php`, the first thing a Nextcloud client asks. */
export function statusDocument(): Record<string, string | boolean> {
  return {
    installed: true,
    maintenance: false,
    needsDbUpgrade: false,
    version: `${VERSION_STRING}.0`,
    versionstring: VERSION_STRING,
    edition: '',
    productname: PRODUCT_NAME,
    extendedSupport: false,
  };
}

/**
 * `cloud/capabilities`. What is left out matters as much: no `dav.chunking` (chunked uploads to
 * `/remote.php/dav/uploads/` are not served, so clients upload each file with one PUT), `bigfilechunking` false (the
 * old `OC-Chunked` scheme, which would otherwise store the chunks as files), no upload checksums (an `OC-Checksum`
 * header is not checked), no trash or versions over DAV (`undelete`, `versioning`), no sharing, no end-to-end
 * encryption, no file locking.
 */
export function capabilities(): OcsValue {
  return {
    version: { ...NEXTCLOUD_VERSION, string: VERSION_STRING, edition: '', extendedSupport: false },
    capabilities: {
      core: { pollinterval: 60, 'webdav-root': 'remote.php/webdav' },
      files: { bigfilechunking: false, blacklisted_files: [], undelete: false, versioning: false },
      dav: {},
    },
  };
}
