import type { JsonSchema } from '@cozy-ts/kernel';

export interface SyncConfig {
  /** Largest calendar object or vCard accepted, in bytes (CALDAV:max-resource-size). */
  maxResourceSize: number;
  /** Occurrences of one recurring object walked per query before the answer is taken as "matches". */
  maxIterations: number;
  /** Instances one object may expand into in an answer. */
  maxInstances: number;
  /** Largest XML request body (REPORT, PROPFIND, PROPPATCH), in bytes. */
  maxXmlBody: number;
}

export const defaults: SyncConfig = {
  maxResourceSize: 4 * 1024 * 1024,
  maxIterations: 20_000,
  maxInstances: 2_000,
  maxXmlBody: 4 * 1024 * 1024,
};

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxResourceSize: { type: 'integer', minimum: 1024, maximum: 256 * 1024 * 1024 },
    maxIterations: { type: 'integer', minimum: 100, maximum: 10_000_000 },
    maxInstances: { type: 'integer', minimum: 10, maximum: 1_000_000 },
    maxXmlBody: { type: 'integer', minimum: 1024, maximum: 256 * 1024 * 1024 },
  },
};
