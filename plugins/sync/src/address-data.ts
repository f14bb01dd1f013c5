import { SyncErrors } from './sync-errors.ts';
import { formatLine, parseLine, unfold, vcardAs, wantedVersion, type VcardVersion } from './vcard.ts';
import { childrenNamed, child, type XmlElement } from './dav.ts';
import { NS } from './namespaces.ts';

/**
 * What a `<CR:address-data>` element of a report asks for (RFC 6352 §10.4): a vCard version, and which
 * properties (`prop name=... novalue=...`, or `allprop`).
 */
export interface AddressDataRequest {
  version?: VcardVersion;
  /** undefined = every property; otherwise the upper-case names kept (with `novalue`: kept without a value). */
  props?: Map<string, { novalue: boolean }>;
}

/** The lines a card cannot do without, whatever was asked. */
const FRAME = new Set(['BEGIN', 'END', 'VERSION']);

/** Reads a report's `<CR:address-data>` (and the Accept header, which asks for a version too). */
export function parseAddressDataRequest(el: XmlElement | undefined, accept: string): AddressDataRequest | undefined {
  const type = el?.attrs['content-type'];
  const v = el?.attrs.version;
  if ((type && type.toLowerCase() !== 'text/vcard') || (v && v !== '3.0' && v !== '4.0')) {
    throw SyncErrors.unsupportedAddressDataReport(`address-data ${type ?? ''} ${v ?? ''} is not served: text/vcard 3.0 and 4.0 are`);
  }
  const req: AddressDataRequest = {};
  const version = v === '3.0' || v === '4.0' ? v : wantedVersion(accept);
  if (version) req.version = version;
  if (el && !child(el, NS.CARDDAV, 'allprop')) {
    const props = childrenNamed(el, NS.CARDDAV, 'prop');
    if (props.length) {
      req.props = new Map();
      for (const p of props) {
        const name = p.attrs.name?.toUpperCase();
        if (!name) throw SyncErrors.badRequest('address-data: prop needs a name');
        req.props.set(name, { novalue: p.attrs.novalue === 'yes' });
      }
    }
  }
  return req.version || req.props ? req : undefined;
}

/** The address-data of one card as the request shapes it; the stored bytes when nothing is asked. */
export function shapeAddressData(raw: string, from: VcardVersion, req: AddressDataRequest): string {
  const text = req.version ? vcardAs(raw, from, req.version) : raw;
  const props = req.props;
  if (!props) return text;
  const kept: string[] = [];
  for (const line of unfold(text)) {
    const l = parseLine(line);
    if (FRAME.has(l.name)) {
      kept.push(line);
      continue;
    }
    const want = props.get(l.name);
    if (want) kept.push(want.novalue ? formatLine({ ...l, value: '' }) : formatLine(l));
  }
  return `${kept.join('\r\n')}\r\n`;
}
