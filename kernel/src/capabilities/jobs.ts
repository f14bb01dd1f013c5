import type { InstanceRef } from '../instances/instance.ts';
import { defineCapability } from './capability.ts';

/** cozy-stack's job states: a job is queued, then running, then done or errored (retries go back to queued). */
export type JobState = 'queued' | 'running' | 'done' | 'errored';

/** The `options` of a job as cozy-stack stores them: `timeout` in seconds, `max_exec_count` tries in all. */
export interface JobOptions {
  timeout?: number;
  max_exec_count?: number;
}

/** An `io.cozy.jobs` document. */
export interface JobDoc {
  _id: string;
  _rev?: string;
  domain: string;
  worker: string;
  /** What the worker receives (`arguments` in the HTTP API, `message` in the database, as cozy-stack). */
  message: unknown;
  options: JobOptions;
  state: JobState;
  queued_at: string;
  started_at?: string;
  finished_at?: string;
  error?: string;
  /** How many times the job was started, this run included. */
  exec_count?: number;
  trigger_id?: string;
  /** For jobs of a time trigger: the time of the schedule slot that fired it. */
  scheduled_at?: string;
  manual_execution?: boolean;
  /** For jobs of an `@event` trigger: the document event that fired it. */
  event?: unknown;
  /** For jobs of a `@webhook` trigger: the request body. */
  payload?: unknown;
  [field: string]: unknown;
}

/** What a worker's `run` gets for one try of one job. */
export interface WorkerContext {
  readonly instance: InstanceRef;
  readonly job: Readonly<JobDoc>;
  /** 1 for the first try. */
  readonly attempt: number;
  /** Aborted when the job's timeout passes or the server stops: long work should stop at once. */
  readonly signal: AbortSignal;
}

export interface WorkerDefinition {
  /** Jobs of this type run at most this many at once per process (default 1). */
  concurrency?: number;
  /** Default tries in all, retries included (cozy-stack: 3); a job's own `max_exec_count` wins. */
  maxExecCount?: number;
  /** Default timeout of one try in seconds (cozy-stack: 60); a job's own `timeout` wins, capped by `maxTimeout`. */
  timeout?: number;
  /** Largest timeout a job may ask for, in seconds. */
  maxTimeout?: number;
  /** Delay before the first retry in ms, doubled on each further retry. */
  backoffMs?: number;
  /** Only the stack itself (and CLI tokens) may queue jobs of this type over HTTP (cozy-stack's reserved workers). */
  reserved?: boolean;
  /**
   * Runs one try. Resolving marks the job done; throwing (or the timeout) fails the try, which is retried until
   * `max_exec_count` tries were made. Absent for an external worker: jobs then wait for a process outside the
   * server to claim them over HTTP (see the jobs plugin's README).
   */
  run?: (ctx: WorkerContext) => Promise<void>;
}

export interface JobRequest {
  worker: string;
  message?: unknown;
  options?: JobOptions;
  manual?: boolean;
  /** The job becomes runnable this many ms after it is queued (a delayed mail, a debounce); at most a year. */
  delayMs?: number;
  /** Extra fields stored on the job document (`trigger_id`, `event`, `payload`, and for a time trigger the `scheduled_at` it fired for). */
  extra?: { trigger_id?: string; event?: unknown; payload?: unknown; scheduled_at?: string };
}

/**
 * Queues and workers. Plugins register their workers during `register()` (the files plugin's thumbnails, the
 * notifications plugin's `sendmail`...) and queue jobs at run time; the jobs plugin runs them on its broker
 * (in memory for one process, Redis for a farm) and keeps their `io.cozy.jobs` documents.
 *
 * Rules:
 * - `registerWorker` MUST be called before the kernel starts its plugins; a second registration of a type throws.
 * - `push` MUST throw a 404 CozyError for an unknown worker type, and 400 for options out of range.
 * - A job is run at least once and at most `max_exec_count` times; a try that throws, passes its timeout or whose
 *   process dies is retried with backoff until then, and the job ends `errored` with the last error.
 */
export interface JobsService {
  registerWorker(type: string, def: WorkerDefinition): void;
  /** Registered worker types. */
  workerTypes(): string[];
  /** Queues a job and returns its document, state `queued`. */
  push(inst: InstanceRef, req: JobRequest): Promise<JobDoc>;
  /** 404 CozyError when absent. */
  get(inst: InstanceRef, id: string): Promise<JobDoc>;
}

export const JOBS = defineCapability<JobsService>('jobs', '1.0.0');
