import { CHECKSUM_TYPES } from './checksum.ts';
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
 * `cloud/capabilities`. `dav.chunking` 1.0: chunked upload v2 (`/remote.php/dav/uploads/`, uploads.ts) works across
 * a farm's processes, so clients send big files in resumable parts there (the 3.x desktop client otherwise falls
 * back to `OC-Chunked`, which is served too). `checksums`: the `OC-Checksum` types an upload is checked against.
 * `undelete` and `versioning`: the trash bin (`/remote.php/dav/trashbin/`) and versions (`/remote.php/dav/versions/`)
 * are served; the apps show their "Deleted files" and "Versions" screens only when these are true.
 * What is left out matters as much: no sharing, no end-to-end encryption, no file locking, no bulk upload.
 */
export function capabilities(): OcsValue {
  return {
    version: { ...NEXTCLOUD_VERSION, string: VERSION_STRING, edition: '', extendedSupport: false },
    capabilities: {
      core: { pollinterval: 60, 'webdav-root': 'remote.php/webdav' },
      files: { bigfilechunking: true, blacklisted_files: [], undelete: true, versioning: true },
      dav: { chunking: '1.0' },
      checksums: { supportedTypes: CHECKSUM_TYPES, preferredUploadType: 'SHA1' },
    },
  };
}
