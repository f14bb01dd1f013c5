import type { JsonSchema } from '@cozy-ts/kernel';

export interface DataConfig {
  /**
   * Largest request body on /data routes, in bytes. Absent: the kernel's `http.bodyLimit` (1 MiB by default)
   * applies. CouchDB's own cap on one document is 8 MB (max_document_size), a sensible ceiling for this one.
   */
  bodyLimit?: number;
}

export const defaults: DataConfig = {};

export const configSchema: JsonSchema = {
  type: 'object',
  properties: {
    bodyLimit: { type: 'integer', minimum: 1024, description: 'Largest request body on /data routes, in bytes' },
  },
  additionalProperties: false,
};
