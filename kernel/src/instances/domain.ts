import { domainToASCII, domainToUnicode } from 'node:url';
import { KernelErrors } from '../errors.ts';

/**
 * Normalises a Host header or a domain typed by an admin to the key instances are stored under:
 * unicode form of the IDN (as cozy-stack's idna.ToUnicode), lower-cased, port kept.
 * Throws KernelErrors.invalidDomain (400) on anything that is not a host name or IP with an optional port.
 */
export function normalizeDomain(input: string): string {
  const raw = input.trim();
  if (raw.length === 0 || raw.length > 300) throw KernelErrors.invalidDomain('Invalid domain: empty or too long');
  const m = /^([^:\s/\\@?#[\]]+)(?::(\d{1,5}))?$/u.exec(raw);
  if (!m) throw KernelErrors.invalidDomain(`Invalid domain: ${JSON.stringify(raw.slice(0, 100))}`);
  const [, host, port] = m as unknown as [string, string, string | undefined];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw KernelErrors.invalidDomain(`Invalid port in domain: ${port}`);
  }
  // domainToASCII validates labels (including punycode ones) and returns '' when the name is not valid.
  const ascii = domainToASCII(host);
  if (!ascii || !/^[a-z0-9.-]+$/.test(ascii) || ascii.startsWith('.') || ascii.endsWith('.') || ascii.includes('..')) {
    throw KernelErrors.invalidDomain(`Invalid domain: ${JSON.stringify(raw.slice(0, 100))}`);
  }
  const unicode = domainToUnicode(ascii).toLowerCase();
  return port === undefined ? unicode : `${unicode}:${Number(port)}`;
}

/** The domain without its port (the PBKDF2 salt and cookie domains use it). */
export function domainWithoutPort(domain: string): string {
  const i = domain.lastIndexOf(':');
  return i === -1 ? domain : domain.slice(0, i);
}
