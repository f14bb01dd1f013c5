/**
 * Go's time.ParseDuration as cozy-stack's @every, @in and debounce use it: a sequence of decimal numbers with a
 * unit (`1.5h`, `30m10s`); `ms`, `s`, `m`, `h` accepted. Returns milliseconds, or null when unparsable.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)/y;

export function parseGoDuration(text: string): number | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return null;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return null;
    total += Number(m[1]) * UNITS[m[2]];
    pos = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** cozy-stack's purge durations (bigduration): `3W`, `2M`, `1Y`, `12h`, `10D`. */
const BIG: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, D: 86_400_000, W: 7 * 86_400_000, M: 30 * 86_400_000, Y: 365 * 86_400_000 };

export function parseBigDuration(text: string): number | null {
  const m = /^(\d{1,6})([smhDWMY])$/.exec(text);
  return m ? Number(m[1]) * BIG[m[2]] : null;
}
