/**
 * The `ttl` syntax of share links: github.com/justincampbell/bigduration, which cozy-stack uses. Optional
 * whole-number Y (365 days), M (30 days), W and D parts, in that order, then anything Go's
 * time.ParseDuration reads (`2h30m`, `1.5h`, `90s`, `250ms`…).
 */

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;

const CALENDAR_UNITS: ReadonlyArray<readonly [suffix: string, ms: number]> = [
  ['Y', 365 * DAY],
  ['M', 30 * DAY],
  ['W', 7 * DAY],
  ['D', DAY],
];

// Go's units; "m" is the minute, which is why bigduration's months are an upper-case M.
const CLOCK_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: SECOND,
  m: 60 * SECOND,
  h: HOUR,
};

const CALENDAR = new RegExp(`^${CALENDAR_UNITS.map(([suffix]) => `(?:(\\d+)${suffix})?`).join('')}`);
const CLOCK_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Go's time.ParseDuration for non-negative values: a bare "0" or a sequence of number+unit parts. */
function parseClock(text: string): number | null {
  if (text === '0') return 0;
  let total = 0;
  CLOCK_PART.lastIndex = 0;
  while (CLOCK_PART.lastIndex < text.length) {
    const match = CLOCK_PART.exec(text);
    if (!match) return null;
    total += Number(match[1]) * (CLOCK_UNITS[match[2] as string] as number);
  }
  return total;
}

/** Milliseconds, or null when the text is not a duration. Negative durations are not accepted. */
export function parseBigDuration(text: string): number | null {
  const calendar = CALENDAR.exec(text);
  if (!calendar || text === '') return null;
  let total = 0;
  CALENDAR_UNITS.forEach(([, ms], i) => {
    const count = calendar[i + 1];
    if (count !== undefined) total += Number(count) * ms;
  });
  const rest = text.slice(calendar[0].length);
  if (rest === '') return total;
  const clock = parseClock(rest);
  return clock === null ? null : total + clock;
}
