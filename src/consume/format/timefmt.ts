/**
 * @fileoverview Wall-clock formatting for printf's `%Y` (ctime reshuffled to
 * `YYYY Mon DD HH:MM:SS`, day blank-padded, as pfprint_time builds it) and `%T`
 * (strftime `"%a, %d %b %G %T %Z"`, pfprint_time822). Both use local time, like Oracle's
 * ctime_r/localtime_r; `timeZone` (an IANA name) overrides the process zone (tests use 'UTC').
 */

interface CivilTime {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
  weekday: number; zoneName: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const formatterCache = new Map<string, Intl.DateTimeFormat>();

function civil(seconds: number, timeZone: string | undefined): CivilTime {
  const key = timeZone ?? '';
  let f = formatterCache.get(key);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short', timeZoneName: 'short',
    });
    formatterCache.set(key, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(seconds * 1000))) parts[p.type] = p.value;
  return {
    year: Number(parts['year']), month: Number(parts['month']), day: Number(parts['day']),
    hour: Number(parts['hour']) % 24, minute: Number(parts['minute']), second: Number(parts['second']),
    weekday: WEEKDAYS.indexOf(parts['weekday'] ?? 'Sun'), zoneName: parts['timeZoneName'] ?? 'UTC',
  };
}

/** hrtime_t nanoseconds → whole seconds, with C's truncating signed division. */
function toSeconds(ns: bigint): number {
  return Number(BigInt.asIntN(64, ns) / 1_000_000_000n);
}

const two = (n: number): string => n.toString().padStart(2, '0');

/** `%Y`: `2024 Oct 11 20:43:38`, `1973 Dec  3 17:20:00`. */
export function formatWallTime(ns: bigint, timeZone?: string): string {
  const t = civil(toSeconds(ns), timeZone);
  return `${t.year} ${MONTHS[t.month - 1]} ${t.day.toString().padStart(2, ' ')} ${two(t.hour)}:${two(t.minute)}:${two(t.second)}`;
}

/** ISO 8601 week-based year (strftime %G). */
function isoWeekYear(t: CivilTime): number {
  const date = Date.UTC(t.year, t.month - 1, t.day);
  const weekdayMon0 = (t.weekday + 6) % 7;              // Monday = 0
  const thursday = new Date(date + (3 - weekdayMon0) * 86_400_000);
  return thursday.getUTCFullYear();
}

/** `%T`: RFC-822 style `Fri, 11 Oct 2024 20:43:38 UTC`. */
export function formatRfc822Time(ns: bigint, timeZone?: string): string {
  const t = civil(toSeconds(ns), timeZone);
  return `${WEEKDAYS[t.weekday]}, ${two(t.day)} ${MONTHS[t.month - 1]} ${isoWeekYear(t)} ${two(t.hour)}:${two(t.minute)}:${two(t.second)} ${t.zoneName}`;
}
