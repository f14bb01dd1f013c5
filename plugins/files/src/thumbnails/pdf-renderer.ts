import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

/**
 * A PDF that was not rendered. `retryable` is false when the file is at fault (broken, over the time or memory
 * bounds: not tried again, the placeholder stays) and true when the renderer is (stopped, its worker could not
 * start): the same file may render later.
 */
export class PdfRenderError extends Error {
  override readonly name = 'PdfRenderError';

  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

export interface PdfRenderLimits {
  /** A render taking longer is stopped (its worker killed). cozy-stack gives ImageMagick 30 s; a job has 30 s. */
  timeoutMs: number;
  /** Growth cap of MuPDF's heap: beyond it, allocations fail and the render is reported broken. */
  maxHeapBytes: number;
  /** A worker whose heap grew past this after a render is ended, so a big file's memory goes back to the system. */
  recycleHeapBytes: number;
  /** A worker idle this long is ended (nothing stays loaded on a server that saw one PDF an hour ago). */
  idleMs: number;
}

export const DEFAULT_PDF_LIMITS: PdfRenderLimits = {
  timeoutMs: 20_000,
  maxHeapBytes: 512 * 1024 * 1024,
  recycleHeapBytes: 128 * 1024 * 1024,
  idleMs: 30_000,
};

/** The box the first page is fitted in (a thumbnail format's geometry). */
export interface PdfBox {
  width: number;
  height: number;
  /** Whether a page smaller than the box is enlarged to fill it. */
  enlarge: boolean;
}

export interface RenderedPage {
  width: number;
  height: number;
  /** 3 (RGB, on white: pages are rendered without alpha). */
  channels: 3;
  pixels: Buffer;
}

interface WorkerReply {
  id: number;
  ok: boolean;
  ready?: boolean;
  error?: string;
  width?: number;
  height?: number;
  channels?: number;
  pixels?: Uint8Array;
  heapBytes?: number;
}

/** A compiled WebAssembly module: the repository's `lib` has no DOM types, and only this file needs the one call. */
type WasmModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } }).WebAssembly;

let compiling: Promise<WasmModule> | undefined;

/** A worker that is not ready by then is not coming (it loads nothing but MuPDF: ~50 ms on a quiet machine). */
const START_TIMEOUT_MS = 30_000;

/**
 * MuPDF's WebAssembly, compiled once per process on first use (about 10 MB: a server that never sees a PDF never
 * loads it) and shared by every worker started afterwards.
 */
function mupdfWasm(): Promise<WasmModule> {
  compiling ??= (async () => {
    const entry = import.meta.resolve('mupdf');
    return wasmApi.compile(await readFile(new URL('mupdf-wasm.wasm', entry)));
  })();
  compiling.catch(() => (compiling = undefined));
  return compiling;
}

/**
 * Renders the first page of PDFs with MuPDF in a worker thread, one file at a time: a PDF is untrusted input, so
 * the work runs off the event loop, is killed after {@link PdfRenderLimits.timeoutMs}, and MuPDF's memory is
 * capped. A worker is started on the first render and ended when idle, after a timeout or a crash, and after a
 * render that left its heap large.
 */
export class PdfRenderer {
  readonly #limits: PdfRenderLimits;
  #worker: Promise<Worker> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #idle: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;

  constructor(limits: Partial<PdfRenderLimits> = {}) {
    this.#limits = { ...DEFAULT_PDF_LIMITS, ...limits };
  }

  /** The first page of `pdf`, fitted in `box`. Rejects with {@link PdfRenderError} on a file that cannot be rendered. */
  render(pdf: Uint8Array, box: PdfBox): Promise<RenderedPage> {
    const run = this.#queue.then(() => this.#render(pdf, box));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Ends the worker; renders asked afterwards fail. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.#end();
  }

  async #render(pdf: Uint8Array, box: PdfBox): Promise<RenderedPage> {
    if (this.#closed) throw new PdfRenderError('the PDF renderer is stopped', true);
    clearTimeout(this.#idle);
    const worker = await this.#start();
    const id = this.#nextId++;
    // A copy the worker owns (transferred, not cloned): the caller's buffer may be a slice of a larger one.
    const data = new Uint8Array(pdf);
    let reply: WorkerReply;
    try {
      reply = await new Promise<WorkerReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          done();
          reject(new PdfRenderError(`rendering took more than ${this.#limits.timeoutMs} ms`));
        }, this.#limits.timeoutMs);
        const onMessage = (m: WorkerReply) => {
          if (m.id !== id) return;
          done();
          resolve(m);
        };
        const onExit = (code: number) => {
          done();
          reject(new PdfRenderError(`the PDF worker stopped (exit code ${code})`));
        };
        const onError = (err: Error) => {
          done();
          reject(new PdfRenderError(`the PDF worker failed: ${err.message}`));
        };
        const done = () => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('exit', onExit);
          worker.off('error', onError);
        };
        worker.on('message', onMessage);
        worker.on('exit', onExit);
        worker.on('error', onError);
        worker.postMessage({ id, pdf: data, ...box }, [data.buffer]);
      });
    } catch (err) {
      // Killed mid-render or dead: whatever state it was in goes with it.
      await this.#end();
      throw err;
    }
    // After a failure too: MuPDF may have stopped halfway through its own state, which the next file must not meet.
    if (!reply.ok || (reply.heapBytes ?? 0) > this.#limits.recycleHeapBytes) await this.#end();
    else this.#idle = setTimeout(() => void this.#end(), this.#limits.idleMs).unref();
    if (!reply.ok || !reply.pixels || !reply.width || !reply.height) throw new PdfRenderError(reply.error ?? 'the PDF cannot be rendered');
    if (reply.channels !== 3) throw new PdfRenderError(`unexpected pixel format (${String(reply.channels)} channels)`);
    return { width: reply.width, height: reply.height, channels: 3, pixels: Buffer.from(reply.pixels.buffer, reply.pixels.byteOffset, reply.pixels.byteLength) };
  }

  #start(): Promise<Worker> {
    this.#worker ??= (async () => {
      const wasm = await mupdfWasm();
      const worker = new Worker(new URL('./pdf-worker.mjs', import.meta.url), {
        workerData: { wasm, maxHeapBytes: this.#limits.maxHeapBytes },
        // The worker is plain JavaScript: it needs none of the parent's loaders (tsx, a test runner's), which would
        // only slow its start.
        execArgv: [],
        // JavaScript objects of one page stay small; the PDF bytes and MuPDF's heap are array buffers, bounded above.
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
        stdout: true,
        stderr: true,
      });
      // Nothing is printed on purpose; anything MuPDF's runtime still writes is dropped rather than mixed into logs.
      worker.stdout.resume();
      worker.stderr.resume();
      const ready = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new PdfRenderError('the PDF worker did not start', true)), START_TIMEOUT_MS);
        worker.once('message', (m: WorkerReply) => {
          clearTimeout(timer);
          if (m.ready) resolve();
          else reject(new PdfRenderError(m.error ?? 'the PDF worker did not start', true));
        });
        worker.once('error', (err) => {
          clearTimeout(timer);
          reject(new PdfRenderError(`the PDF worker did not start: ${err.message}`, true));
        });
      });
      try {
        await ready;
      } catch (err) {
        await worker.terminate();
        throw err;
      }
      worker.unref();
      return worker;
    })();
    const starting = this.#worker;
    starting.catch(() => {
      if (this.#worker === starting) this.#worker = undefined;
    });
    return starting;
  }

  async #end(): Promise<void> {
    clearTimeout(this.#idle);
    const starting = this.#worker;
    this.#worker = undefined;
    if (!starting) return;
    const worker = await starting.catch(() => undefined);
    await worker?.terminate();
  }
}
