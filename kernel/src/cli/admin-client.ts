/** A small client of the admin API, for the CLI. */
export class AdminClientError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface AdminClientOptions {
  url: string;
  passphrase?: string;
}

export class AdminClient {
  constructor(private readonly opts: AdminClientOptions) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { res, json } = await this.#send(method, path, body);
    if (res.status === 204) return undefined as T;
    return json as T;
  }

  /** The raw text of a 2xx answer (NDJSON streams such as fsck's), errors handled as in `request`. */
  async requestText(method: string, path: string): Promise<string> {
    return (await this.#send(method, path)).text;
  }

  async #send(method: string, path: string, body?: unknown): Promise<{ res: Response; text: string; json: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.passphrase !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`admin:${this.opts.passphrase}`).toString('base64')}`;
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(new URL(path, this.opts.url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new AdminClientError(
        `cannot reach the admin API at ${this.opts.url} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}); is the server running (\`npm start\`)?`,
        3,
      );
    }
    const text = res.status === 204 ? '' : await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const detail = (json as { errors?: Array<{ detail?: string }> } | undefined)?.errors?.[0]?.detail ?? (text || res.statusText);
      const hint =
        res.status === 401 || res.status === 403
          ? ' (set COZY_ADMIN_PASSPHRASE, or run the CLI where it can read <storage>/admin-passphrase)'
          : '';
      throw new AdminClientError(`${res.status}: ${detail}${hint}`, res.status === 404 ? 4 : 1);
    }
    return { res, text, json };
  }
}
