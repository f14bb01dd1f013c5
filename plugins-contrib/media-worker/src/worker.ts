/**
 * A client for cozy-ts's external worker protocol (plugins/jobs/README.md, "External workers"): claim a job of
 * one type with a lease, heartbeat while working, then finish or fail it. Nothing here is specific to media:
 * give it another `handle` and it runs any job type the server declares under `external.workers`.
 */
export interface ClaimedJob {
  id: string;
  domain: string;
  worker: string;
  message: unknown;
  payload?: unknown;
  event?: unknown;
  attempt: number;
  max_exec_count: number;
  timeout: number;
  lease: { token: string; expires_at: string; duration_ms: number };
}

export interface WorkerOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080 */
  server: string;
  /** The bearer token the server's jobs plugin is configured with (`external.token`). */
  token: string;
  /** The job type to work on. */
  worker: string;
  /** Seconds a claim waits on the server for a job before asking again. */
  waitSeconds?: number;
  /** Does the work; throwing fails the try (the server retries it as configured). */
  handle(job: ClaimedJob, signal: AbortSignal): Promise<void>;
  log?: (line: Record<string, unknown>) => void;
}

class HttpError extends Error {
  constructor(readonly status: number, body: string) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

export class ExternalWorker {
  #stopped = false;
  #current?: AbortController;

  constructor(private readonly opts: WorkerOptions) {}

  async #post(path: string, body?: unknown): Promise<{ status: number; json?: unknown }> {
    const res = await fetch(new URL(`/jobs/external/${encodeURIComponent(this.opts.worker)}${path}`, this.opts.server), {
      method: 'POST',
      headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    if (res.status >= 400) throw new HttpError(res.status, text);
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  /** Claims and runs jobs until stop(); a server that cannot be reached is retried every few seconds. */
  async run(): Promise<void> {
    const log = this.opts.log ?? (() => undefined);
    while (!this.#stopped) {
      let job: ClaimedJob | undefined;
      try {
        const res = await this.#post(`/claim?wait=${this.opts.waitSeconds ?? 10}`);
        if (res.status === 204) continue;
        job = (res.json as { job: ClaimedJob }).job;
      } catch (err) {
        log({ msg: 'claim failed', err: String(err) });
        await new Promise((r) => setTimeout(r, 2_000));
        continue;
      }
      await this.#work(job);
    }
  }

  async #work(job: ClaimedJob): Promise<void> {
    const log = this.opts.log ?? (() => undefined);
    const abort = new AbortController();
    this.#current = abort;
    const lease = { token: job.lease.token, domain: job.domain };
    // Three heartbeats per lease: one lost request does not lose the job.
    const beat = setInterval(() => {
      this.#post(`/${job.id}/heartbeat`, { lease_token: lease.token, domain: lease.domain }).catch((err: unknown) => {
        if (err instanceof HttpError && (err.status === 409 || err.status === 404)) abort.abort(new Error('lease lost'));
      });
    }, Math.max(100, Math.floor(job.lease.duration_ms / 3)));
    try {
      log({ msg: 'job started', id: job.id, attempt: job.attempt });
      await this.opts.handle(job, abort.signal);
      clearInterval(beat);
      if (!abort.signal.aborted) await this.#post(`/${job.id}/finish`, { lease_token: lease.token, domain: lease.domain });
      log({ msg: 'job done', id: job.id });
    } catch (err) {
      clearInterval(beat);
      log({ msg: 'job failed', id: job.id, err: String(err) });
      if (!abort.signal.aborted) {
        await this.#post(`/${job.id}/fail`, { lease_token: lease.token, domain: lease.domain, error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
      }
    } finally {
      clearInterval(beat);
      this.#current = undefined;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#current?.abort(new Error('stopping'));
  }
}
