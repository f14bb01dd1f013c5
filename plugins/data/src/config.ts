import type { JsonSchema } from '@cozy-ts/kernel';

export interface DataConfig {
  /**
   * Largest request body on /data routes, in bytes. Absent: the kernel's `http.bodyLimit` (1 MiB by default)
   * applies. CouchDB's own cap on one document is 8 MB (max_document_size), a sensible ceiling for this one.
   */
  bodyLimit?: number;
  /**
   * Key files that encrypt the secrets of io.cozy.accounts documents, in cozy-stack's format (its
   * `vault.credentials_encryptor_key` / `credentials_decryptor_key`, PEM `NACL KEY`): both or neither. Absent, the
   * secrets are stored as they are sent.
   */
  credentials?: { encryptorKey: string; decryptorKey: string };
}

export const defaults: DataConfig = {};

export const configSchema: JsonSchema = {
  type: 'object',
  properties: {
    bodyLimit: { type: 'integer', minimum: 1024, description: 'Largest request body on /data routes, in bytes' },
    credentials: {
      type: 'object',
      description: 'Key files (cozy-stack NACL KEY PEM) encrypting io.cozy.accounts secrets',
      properties: {
        encryptorKey: { type: 'string', minLength: 1, description: 'Path of the encryptor key file' },
        decryptorKey: { type: 'string', minLength: 1, description: 'Path of the decryptor key file' },
      },
      required: ['encryptorKey', 'decryptorKey'],
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};
