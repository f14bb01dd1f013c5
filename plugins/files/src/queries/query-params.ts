/** A parsed query string: each value a string, or a list when the parameter was repeated. */
export type Query = Readonly<Record<string, unknown>>;

/** The parameter's value; the first one when it was repeated. */
export function param(query: Query, name: string): string | undefined {
  const value = query[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/** Go's strconv.Atoi as cozy-stack uses it on query parameters. */
export function atoi(text: string): number | undefined {
  return /^[+-]?\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/** Go's strconv.ParseBool: cozy-stack reads its boolean parameters with it; anything else is false. */
export function parseBool(text: string | undefined): boolean {
  return text !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text);
}
