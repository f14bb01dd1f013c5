import { defineError } from '@cozy-ts/kernel';

export const JobsErrors = {
  unknownWorker: defineError('COZY_ERR_JOBS_UNKNOWN_WORKER', 404, 'Unknown worker type'),
  reservedWorker: defineError('COZY_ERR_JOBS_RESERVED_WORKER', 403, 'This worker is reserved to the stack'),
  jobNotFound: defineError('COZY_ERR_JOBS_JOB_NOT_FOUND', 404, 'Job not found'),
  triggerNotFound: defineError('COZY_ERR_JOBS_TRIGGER_NOT_FOUND', 404, 'Trigger not found'),
  badTrigger: defineError('COZY_ERR_JOBS_BAD_TRIGGER', 400, 'Invalid trigger'),
  badOptions: defineError('COZY_ERR_JOBS_BAD_OPTIONS', 400, 'Invalid job options'),
  badRequest: defineError('COZY_ERR_JOBS_BAD_REQUEST', 400, 'Invalid request'),
  notWebhook: defineError('COZY_ERR_JOBS_NOT_WEBHOOK', 400, 'Not a webhook'),
  rateLimited: defineError('COZY_ERR_JOBS_RATE_LIMITED', 429, 'Too many requests'),
  leaseLost: defineError('COZY_ERR_JOBS_LEASE_LOST', 409, 'The lease of this job was lost'),
  workerUnauthorized: defineError('COZY_ERR_JOBS_WORKER_UNAUTHORIZED', 401, 'A valid external worker token is required'),
  notExternal: defineError('COZY_ERR_JOBS_NOT_EXTERNAL', 404, 'No external worker of this type'),
  brokerUnavailable: defineError('COZY_ERR_JOBS_BROKER_UNAVAILABLE', 503, 'The job broker is unavailable'),
} as const;
