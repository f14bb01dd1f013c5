import { statusTitle } from './status.ts';
import { davDocument, davEl, escapeText, Xml, xmlContent, type XmlContent } from './xml/write.ts';

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${statusTitle(status)}`;
}

/** One `<D:propstat>`: properties (full property elements) that share a status. */
export interface PropStat {
  status: number;
  props: Xml[];
  /** Optional `<D:error>` content (a condition element). */
  error?: string;
  description?: string;
}

/**
 * Builds a 207 Multi-Status body (RFC 4918 §13) response by response. Hrefs are given already encoded
 * (`hrefFor`); `toString` closes the document.
 */
export class Multistatus {
  readonly #parts: string[] = [];
  #syncToken?: string;

  get size(): number {
    return this.#parts.length;
  }

  /** A response carrying properties grouped by status; empty groups are left out. */
  addPropStats(href: string, propstats: PropStat[], extra?: XmlContent): this {
    let body = davEl('href', href).raw;
    for (const ps of propstats) {
      if (!ps.props.length) continue;
      body += davEl('propstat', [
        davEl('prop', ps.props),
        davEl('status', statusLine(ps.status)),
        ps.error ? new Xml(`<D:error>${ps.error}</D:error>`) : null,
        ps.description ? davEl('responsedescription', ps.description) : null,
      ]).raw;
    }
    body += xmlContent(extra);
    this.#parts.push(`<D:response>${body}</D:response>`);
    return this;
  }

  /** A response with a bare status for one or more hrefs (errors of COPY, MOVE, DELETE; sync-collection removals). */
  addStatus(hrefs: string | string[], status: number, condition?: string, description?: string): this {
    const list = (Array.isArray(hrefs) ? hrefs : [hrefs]).map((h) => davEl('href', h).raw).join('');
    const err = condition ? `<D:error>${condition}</D:error>` : '';
    const desc = description ? `<D:responsedescription>${escapeText(description)}</D:responsedescription>` : '';
    this.#parts.push(`<D:response>${list}${davEl('status', statusLine(status)).raw}${err}${desc}</D:response>`);
    return this;
  }

  /** RFC 6578 sync-collection: the token closing the report. */
  setSyncToken(token: string): this {
    this.#syncToken = token;
    return this;
  }

  toString(): string {
    const tail = this.#syncToken !== undefined ? davEl('sync-token', this.#syncToken).raw : '';
    return davDocument('multistatus', new Xml(this.#parts.join('') + tail));
  }
}
