import type { JsonSchema } from '@cozy-ts/kernel';

export interface WorkerOverrides {
  concurrency?: number;
  max_exec_count?: number;
  /** Seconds. */
  timeout?: number;
}

export interface JobsConfig {
  /** `memory` (one process, the default) or `redis` (a farm: several processes share queues and schedules). */
  broker: 'memory' | 'redis';
  /** For the Redis broker. */
  redis?: { url: string; prefix?: string };
  /** Lease of a claimed job: an in-process worker renews it while it runs; an external one must heartbeat within it. */
  leaseMs: number;
  /** Delay before the first retry of a failed try, doubled on each further retry. */
  backoffMs: number;
  /** Per worker type: concurrency, tries and timeout, over the worker's own defaults. */
  workers: Record<string, WorkerOverrides>;
  /**
   * Worker types run by processes outside the server (see README, "External workers"), and the bearer token
   * they authenticate with. Without a token, the external worker routes answer 401 to everyone.
   */
  external: { token?: string; workers: Record<string, WorkerOverrides & { reserved?: boolean }> };
  /** Unauthenticated webhook calls accepted per instance per window; more get 429. */
  webhook: { max: number; windowMs: number };
  /** Debounce, @every and @in shorter than this are refused (a floor against self-inflicted floods). */
  minIntervalMs: number;
}

export const defaults: JobsConfig = {
  broker: 'memory',
  leaseMs: 30_000,
  backoffMs: 1_000,
  workers: {},
  external: { workers: {} },
  webhook: { max: 30, windowMs: 60_000 },
  minIntervalMs: 1_000,
};

const overrides: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    concurrency: { type: 'integer', minimum: 1, maximum: 1_000 },
    max_exec_count: { type: 'integer', minimum: 1, maximum: 100 },
    timeout: { type: 'integer', minimum: 1, maximum: 86_400 },
    reserved: { type: 'boolean' },
  },
};

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    broker: { type: 'string', enum: ['memory', 'redis'] },
    redis: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: { url: { type: 'string', pattern: '^rediss?://' }, prefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } },
    },
    leaseMs: { type: 'integer', minimum: 200, maximum: 3_600_000 },
    backoffMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
    workers: { type: 'object', additionalProperties: overrides },
    external: {
      type: 'object',
      additionalProperties: false,
      properties: { token: { type: 'string', minLength: 16 }, workers: { type: 'object', additionalProperties: overrides } },
    },
    webhook: {
      type: 'object',
      additionalProperties: false,
      properties: { max: { type: 'integer', minimum: 1 }, windowMs: { type: 'integer', minimum: 100 } },
    },
    minIntervalMs: { type: 'integer', minimum: 100, maximum: 86_400_000 },
  },
};
