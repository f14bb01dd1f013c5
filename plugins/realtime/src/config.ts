import type { JsonSchema } from '@cozy-ts/kernel';

export interface RealtimeConfig {
  /** Server pings every this long (cozy-stack: 54 s, 9/10 of its 60 s pong wait). */
  pingIntervalMs: number;
  /** A socket whose pong has not come back this long after a ping is dropped (cozy-stack: 60 s − 54 s). */
  pongTimeoutMs: number;
  /** A socket that has not sent its AUTH message this long after the upgrade is closed. */
  authTimeoutMs: number;
  /** Token bucket per socket: a burst of this many messages, then this many per second. */
  maxMessagesPerSecond: number;
  /** Doctypes plus watched ids one socket may hold at once. */
  maxSubscriptions: number;
}

export const defaults: RealtimeConfig = {
  pingIntervalMs: 54_000,
  pongTimeoutMs: 6_000,
  authTimeoutMs: 10_000,
  maxMessagesPerSecond: 100,
  maxSubscriptions: 1_000,
};

const milliseconds = (max: number): JsonSchema => ({ type: 'integer', minimum: 10, maximum: max });

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pingIntervalMs: milliseconds(3_600_000),
    pongTimeoutMs: milliseconds(3_600_000),
    authTimeoutMs: milliseconds(3_600_000),
    maxMessagesPerSecond: { type: 'integer', minimum: 1, maximum: 100_000 },
    maxSubscriptions: { type: 'integer', minimum: 1, maximum: 1_000_000 },
  },
};
