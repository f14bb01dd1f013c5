import type { JsonSchema } from '@cozy-ts/kernel';

export interface VfsSwiftConfig {
  /**
   * The auth endpoint. Ending in `/v1.0` (or `/auth/v1.0`): Swift's v1 auth (tempauth, swauth);
   * ending in `/v3`: Keystone v3 with a password.
   */
  authUrl: string;
  /** v1: `account:user`; v3: the user name. */
  username: string;
  /** v1: the key; v3: the password. */
  password: string;
  /** Keystone v3: the user's domain (name). */
  userDomain: string;
  /** Keystone v3: the project to scope the token to (name). */
  project?: string;
  /** Keystone v3: the project's domain (name); the user's when absent. */
  projectDomain?: string;
  /** Keystone v3: the catalog region to take the object-store endpoint from; the first one when absent. */
  region?: string;
  /** Keystone v3: which endpoint of the catalog (`public`, `internal`, `admin`). */
  interface: 'public' | 'internal' | 'admin';
  /** Overrides the storage URL the auth answers with (a proxy in front of Swift, an internal network). */
  storageUrl?: string;
  /** Prefix of the per-instance container, followed by the instance's database prefix (cozy-stack: `cozy-v3-`). */
  containerPrefix: string;
  /**
   * Contents larger than this are stored as a static large object (SLO) of segments this big. Swift refuses
   * single objects over 5 GiB (its default `max_file_size`), so this must stay at or under it.
   */
  segmentSize: number;
  /** Largest content accepted, in bytes; default: `segmentSize` × 1000 (Swift's default `max_manifest_segments`). */
  maxFileSize?: number;
  /** A request that sends or receives nothing for this long fails with 503. */
  timeoutMs: number;
  /** Segments of a writer of another process are removed by `cleanupTemporaries` once this old. */
  staleSegmentsAfterMs: number;
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
/** Swift's default `max_file_size`: the largest single object a cluster accepts. */
export const SWIFT_MAX_OBJECT_SIZE = 5 * GiB;
/** Swift's default `max_manifest_segments`. */
export const SLO_MAX_SEGMENTS = 1000;

// No default credentials: the schema requires them, so a missing one names its config path at boot.
export const defaults = {
  userDomain: 'Default',
  interface: 'public',
  containerPrefix: 'cozy-v3-',
  segmentSize: GiB,
  timeoutMs: 60_000,
  staleSegmentsAfterMs: 24 * 3600_000,
} satisfies Omit<VfsSwiftConfig, 'authUrl' | 'username' | 'password'> as VfsSwiftConfig;

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['authUrl', 'username', 'password'],
  properties: {
    authUrl: { type: 'string', pattern: '^https?://' },
    username: { type: 'string', minLength: 1 },
    password: { type: 'string', minLength: 1 },
    userDomain: { type: 'string', minLength: 1 },
    project: { type: 'string', minLength: 1 },
    projectDomain: { type: 'string', minLength: 1 },
    region: { type: 'string', minLength: 1 },
    interface: { enum: ['public', 'internal', 'admin'] },
    storageUrl: { type: 'string', pattern: '^https?://' },
    containerPrefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]{0,64}$' },
    segmentSize: { type: 'integer', minimum: MiB, maximum: SWIFT_MAX_OBJECT_SIZE },
    maxFileSize: { type: 'integer', minimum: 0 },
    timeoutMs: { type: 'integer', minimum: 100 },
    staleSegmentsAfterMs: { type: 'integer', minimum: 0 },
  },
};
