import { deflateSync } from 'node:zlib';

/** One PDF object body, or a stream with its dictionary entries. */
export type PdfObject = string | { dict: string; stream: Buffer };

/**
 * Writes a PDF from numbered objects (object 1 is the catalog), with a correct cross-reference table, so the files
 * the tests render are valid and their content is exactly what the test says.
 */
export function writePdf(objects: PdfObject[]): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(offset);
    const body = typeof o === 'string'
      ? Buffer.from(`${i + 1} 0 obj\n${o}\nendobj\n`, 'latin1')
      : Buffer.concat([
        Buffer.from(`${i + 1} 0 obj\n<< ${o.dict} /Length ${o.stream.length} >>\nstream\n`, 'latin1'),
        o.stream,
        Buffer.from('\nendstream\nendobj\n', 'latin1'),
      ]);
    parts.push(body);
    offset += body.length;
  });
  const xref = [
    'xref', `0 ${objects.length + 1}`, '0000000000 65535 f ',
    ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n `),
    'trailer', `<< /Size ${objects.length + 1} /Root 1 0 R >>`, 'startxref', String(offset), '%%EOF', '',
  ].join('\n');
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}

export interface PageSpec {
  width?: number;
  height?: number;
  /** The page's content stream; default: a dark band over the top third of a white page, and a title. */
  content?: string;
  /** Extra page resources (XObjects...), as a dictionary body. */
  resources?: string;
}

/** Pages of text and shapes in PDF's base-14 Helvetica (no embedded font needed). */
export function pdfWithPages(pages: PageSpec[], extra: PdfObject[] = []): Buffer {
  const font = 3;
  const firstPage = 4;
  const objects: PdfObject[] = ['<< /Type /Catalog /Pages 2 0 R >>', '', '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  const kids: string[] = [];
  pages.forEach((p, i) => {
    const w = p.width ?? 595;
    const h = p.height ?? 842;
    const content = p.content ?? `0 0 0 rg 0 ${(h * 2) / 3} ${w} ${h / 3} re f BT /F1 24 Tf 0 0 0 rg 40 ${h / 2} Td (Page ${i + 1}) Tj ET`;
    const pageObj = firstPage + i * 2;
    kids.push(`${pageObj} 0 R`);
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Resources << /Font << /F1 ${font} 0 R >> ${p.resources ?? ''} >> /Contents ${pageObj + 1} 0 R >>`);
    objects.push({ dict: '/Filter /FlateDecode', stream: deflateSync(Buffer.from(content, 'latin1')) });
  });
  objects[1] = `<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${kids.length} >>`;
  return writePdf([...objects, ...extra]);
}

/** A text page repeated: a document of `n` pages. */
export function pdfOfPages(n: number, size: { width?: number; height?: number } = {}): Buffer {
  return pdfWithPages(Array.from({ length: n }, () => ({ ...size })));
}
