/** A satisfiable byte range, both ends inclusive. */
export interface ByteRangeSpec {
  start: number;
  end: number;
}

/**
 * Reads a `Range:` header for a resource of `size` bytes (RFC 9110 §14): one range only (clients ask for one;
 * several would need multipart/byteranges). Returns undefined to send the whole content (absent, not bytes,
 * or several ranges), 'unsatisfiable' for 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRangeSpec | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return undefined;
  return { start, end };
}
