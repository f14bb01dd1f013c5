import type { FastifyReply, FastifyRequest } from 'fastify';
import { escapeText } from '@cozy-ts/dav';

/** A value OCS answers carry: JSON as is, or converted to XML the way Nextcloud does. */
export type OcsValue = string | number | boolean | null | OcsValue[] | { [key: string]: OcsValue };

export type OcsVersion = 1 | 2;

/**
 * OCS status codes: v1 says success with 100 and has codes of its own (997 unauthorised, 998 not found); v2 puts
 * the HTTP status in the envelope. The HTTP status is the same for both.
 */
export const OCS_OK = { 1: 100, 2: 200 } as const;
export const OCS_UNAUTHORISED = { 1: 997, 2: 401 } as const;
export const OCS_NOT_FOUND = { 1: 998, 2: 404 } as const;

export interface OcsAnswer {
  /** HTTP status. */
  status: number;
  /** The envelope's `statuscode`. */
  code: number;
  message: string;
  data: OcsValue;
}

export function ocsOk(version: OcsVersion, data: OcsValue): OcsAnswer {
  return { status: 200, code: OCS_OK[version], message: 'OK', data };
}

export function ocsError(version: OcsVersion, kind: 'unauthorised' | 'not-found', message: string): OcsAnswer {
  if (kind === 'unauthorised') return { status: 401, code: OCS_UNAUTHORISED[version], message, data: [] };
  return { status: 404, code: OCS_NOT_FOUND[version], message, data: [] };
}

/** `?format=json|xml` first, then an Accept header naming JSON; XML otherwise (Nextcloud's order and default). */
export function wantsJson(req: FastifyRequest): boolean {
  const format = (req.query as Record<string, unknown> | undefined)?.format;
  if (format === 'json') return true;
  if (format === 'xml') return false;
  return /\bapplication\/json\b/i.test(String(req.headers.accept ?? ''));
}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/** Nextcloud's OCS XML: list items are `<element>`, true is `1`, false and null are empty. */
export function toXml(value: OcsValue, indent = ' '): string {
  if (Array.isArray(value)) return value.map((v) => node('element', v, indent)).join('');
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([k, v]) => node(k, v, indent)).join('');
  return scalar(value);
}

function scalar(v: string | number | boolean | null): string {
  if (v === null || v === false) return '';
  if (v === true) return '1';
  return escapeText(String(v));
}

function node(key: string, value: OcsValue, indent: string): string {
  // Keys are ours (capability names), but a key that is no XML name must not break the document.
  const name = XML_NAME.test(key) ? key : 'element';
  if (value !== null && typeof value === 'object') {
    const inner = toXml(value, `${indent} `);
    return inner ? `${indent}<${name}>\n${inner}${indent}</${name}>\n` : `${indent}<${name}/>\n`;
  }
  const text = scalar(value);
  return text ? `${indent}<${name}>${text}</${name}>\n` : `${indent}<${name}/>\n`;
}

function envelope(answer: OcsAnswer): { [key: string]: OcsValue } {
  return {
    meta: { status: answer.code === 100 || answer.code === 200 ? 'ok' : 'failure', statuscode: answer.code, message: answer.message, totalitems: '', itemsperpage: '' },
    data: answer.data,
  };
}

export function sendOcs(req: FastifyRequest, reply: FastifyReply, answer: OcsAnswer): FastifyReply {
  const body = envelope(answer);
  void reply.status(answer.status);
  if (wantsJson(req)) return reply.type('application/json; charset=utf-8').send(JSON.stringify({ ocs: body }));
  const xml = `<?xml version="1.0"?>\n<ocs>\n${toXml(body)}</ocs>\n`;
  return reply.type('text/xml; charset=UTF-8').send(xml);
}
