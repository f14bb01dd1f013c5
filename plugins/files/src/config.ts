import type { JsonSchema } from '@cozy-ts/kernel';

export interface FilesConfig {
  /** cozy-stack's `fs.versioning`: old contents kept on overwrite. */
  versions: {
    /** At most this many old versions per file (0: none kept). cozy-stack's default: 20. */
    maxNumber: number;
    /** An overwrite less than this after the last kept version replaces without keeping one. cozy-stack: 15 min. */
    minDelaySeconds: number;
  };
  /** Lifetime of a `/files/downloads` secret link. cozy-stack: one hour. */
  downloadLinkTtlSeconds: number;
  /** Longest wait for the instance's tree lock before a 503. */
  lockWaitMs: number;
  /** The background thumbnail maker: images resized at once, and jobs waiting beyond which new ones are dropped. */
  thumbnails: { concurrency: number; maxPending: number };
}

export const defaults: FilesConfig = {
  versions: { maxNumber: 20, minDelaySeconds: 15 * 60 },
  downloadLinkTtlSeconds: 3600,
  lockWaitMs: 30_000,
  thumbnails: { concurrency: 1, maxPending: 10_000 },
};

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    versions: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxNumber: { type: 'integer', minimum: 0, maximum: 1000 },
        minDelaySeconds: { type: 'integer', minimum: 0 },
      },
    },
    downloadLinkTtlSeconds: { type: 'integer', minimum: 1, maximum: 7 * 24 * 3600 },
    lockWaitMs: { type: 'integer', minimum: 100, maximum: 600_000 },
    thumbnails: {
      type: 'object',
      additionalProperties: false,
      properties: {
        concurrency: { type: 'integer', minimum: 1, maximum: 64 },
        maxPending: { type: 'integer', minimum: 1, maximum: 1_000_000 },
      },
    },
  },
};
