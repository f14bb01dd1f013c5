// @ts-check
// The worker thread that renders the first page of a PDF with MuPDF (WASM). Plain JavaScript on purpose: a worker
// does not inherit tsx's loader under Node 20 (nor tap's), and this file must load the same way everywhere.
// It is only ever started by pdf-renderer.ts, which kills it when a render takes too long.
import { parentPort, workerData } from 'node:worker_threads';

/** @typedef {{ id: number, pdf: Uint8Array, width: number, height: number, enlarge: boolean }} RenderOrder */

if (!parentPort) throw new Error('pdf-worker.mjs runs as a worker thread');
const port = parentPort;

/** @type {{ wasm: WebAssembly.Module, maxHeapBytes: number }} */
const { wasm, maxHeapBytes } = workerData;
/** @type {WebAssembly.Memory | undefined} */
let heap;

// MuPDF's heap is a WebAssembly.Memory that only grows; capping its growth turns a decompression bomb (a small
// file whose image decodes into gigabytes) into a failed malloc, which MuPDF reports as an exception.
/** @param {WebAssembly.Memory} memory */
function capGrowth(memory) {
  const grow = memory.grow.bind(memory);
  memory.grow = (/** @type {number} */ pages) => {
    if (memory.buffer.byteLength + pages * 65536 > maxHeapBytes) throw new RangeError('PDF rendering memory limit reached');
    return grow(pages);
  };
  heap = memory;
}

// The Emscripten module options mupdf.js reads at import: the module is compiled once by the main thread and
// handed over (a restarted worker is ready in milliseconds), and MuPDF's warnings about broken files stay quiet.
/** @type {Record<string, unknown>} */ (globalThis).$libmupdf_wasm_Module = {
  print: () => undefined,
  printErr: () => undefined,
  /** @param {WebAssembly.Imports} imports @param {(instance: WebAssembly.Instance, module: WebAssembly.Module) => void} done */
  instantiateWasm(imports, done) {
    WebAssembly.instantiate(wasm, imports).then((instance) => {
      for (const value of Object.values(instance.exports)) {
        if (value instanceof WebAssembly.Memory) capGrowth(value);
      }
      done(instance, wasm);
    }, (err) => port.postMessage({ id: 0, ok: false, error: `cannot start MuPDF: ${String(err)}` }));
    return {};
  },
};

const mupdf = await import('mupdf');

/** @param {RenderOrder} order */
function render(order) {
  const doc = mupdf.Document.openDocument(order.pdf, 'application/pdf');
  try {
    if (doc.countPages() < 1) throw new Error('the PDF has no page');
    const page = doc.loadPage(0);
    try {
      const [x0, y0, x1, y1] = page.getBounds();
      const w = x1 - x0;
      const h = y1 - y0;
      if (!(w > 0 && h > 0 && Number.isFinite(w) && Number.isFinite(h))) throw new Error('the first page has no size');
      // ImageMagick renders a PDF at 72 dpi (one pixel per point) before fitting it in the box: render straight at
      // the fitted size instead, which gives the same geometry and never allocates more than the box.
      let scale = Math.min(order.width / w, order.height / h);
      if (!order.enlarge) scale = Math.min(scale, 1);
      const pix = page.toPixmap(mupdf.Matrix.scale(scale, scale), mupdf.ColorSpace.DeviceRGB, false, true);
      try {
        const width = pix.getWidth();
        const height = pix.getHeight();
        const stride = pix.getStride();
        const n = pix.getNumberOfComponents();
        if (width * height > (order.width + 2) * (order.height + 2)) throw new Error('the rendered page is larger than asked');
        const src = pix.getPixels();
        // A copy out of the WASM heap, packed (the stride may pad rows), that can be transferred to the caller.
        const pixels = new Uint8Array(width * height * n);
        for (let row = 0; row < height; row++) pixels.set(src.subarray(row * stride, row * stride + width * n), row * width * n);
        return { width, height, channels: n, pixels };
      } finally {
        pix.destroy();
      }
    } finally {
      page.destroy();
    }
  } finally {
    doc.destroy();
    // Fonts and images MuPDF keeps for reuse: the next file will not use them.
    mupdf.emptyStore();
  }
}

port.on('message', (/** @type {RenderOrder} */ order) => {
  try {
    const out = render(order);
    port.postMessage({ id: order.id, ok: true, ...out, heapBytes: heap?.buffer.byteLength ?? 0 }, [out.pixels.buffer]);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    port.postMessage({ id: order.id, ok: false, error: message, heapBytes: heap?.buffer.byteLength ?? 0 });
  }
});
port.postMessage({ id: 0, ok: true, ready: true });
