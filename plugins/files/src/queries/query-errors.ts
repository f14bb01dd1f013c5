import { defineError } from '@cozy-ts/kernel';

/** Errors of the /files query routes; details are cozy-stack's texts. */
export const QueryErrors = {
  badRequest: defineError('COZY_ERR_FILES_QUERY_BAD_REQUEST', 400, 'Bad request'),
  /** cozy-client creates the index it needs when it reads this reason, then retries. */
  noIndex: defineError('COZY_ERR_FILES_QUERY_NO_INDEX', 400, 'no_index'),
  notFound: defineError('COZY_ERR_FILES_QUERY_NOT_FOUND', 404, 'file does not exist'),
  conflict: defineError('COZY_ERR_FILES_QUERY_CONFLICT', 409, 'Conflict access to same file or directory'),
} as const;
