import type { JsonSchema } from '@cozy-ts/kernel';

export interface VfsLocalConfig {
  /** The folder holding one folder per instance, resolved against the config file's folder; default `<storage>/files`. */
  root?: string;
  /** fsync every content before it becomes visible (power-cut safety at some throughput cost). */
  fsync: boolean;
}

export const defaults: VfsLocalConfig = { fsync: true };

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    root: { type: 'string', minLength: 1 },
    fsync: { type: 'boolean' },
  },
};
