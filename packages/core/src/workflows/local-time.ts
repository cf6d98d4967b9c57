/**
 * Local time for the journey engine: durations, a member's wall clock, send windows and date
 * attributes, in IANA time zones.
 *
 * The engine's pure transition function calls these for every member step, so they must be cheap.
 * `Intl.DateTimeFormat#formatToParts` costs microseconds and allocates an array per call, so it is
 * asked only to fill a cache: per zone, per UTC day, either the day's one UTC offset or the one
 * transition inside it (found by bisection to the second). Every other step is integer arithmetic on
 * milliseconds. A "wall" value below is a local date and time written as if it were UTC milliseconds
 * (the local day number is `Math.floor(wall / DAY_MS)`).
 *
 * Assumption: no zone changes its offset twice within one UTC day and comes back to where it
 * started. A day with two changes that do not cancel is detected and answered by `Intl` every time.
 */
import type { Duration, Weekday } from "@omneural/contracts/workflows";

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Local days cached per zone before the cache is dropped: about 11 years of distinct days. */
const DAYS_PER_ZONE_LIMIT = 4096;
/** Zone names (valid or not) remembered before the cache is dropped. */
const ZONE_LIMIT = 2048;

export function durationMs(d: Duration): number {
  return (
    (d.days ?? 0) * DAY_MS +
    (d.hours ?? 0) * HOUR_MS +
    (d.minutes ?? 0) * MINUTE_MS +
    (d.seconds ?? 0) * SECOND_MS
  );
}

export function addDuration(from: Date, d: Duration): Date {
  return new Date(from.getTime() + durationMs(d));
}

export function isValidTimeZone(tz: string): boolean {
  return typeof tz === "string" && lookupZone(tz) !== null;
}

/** The timezone to use for a contact: theirs when valid, else the fallback (the workspace's), else "UTC". */
export function memberTimeZone(
  contactTimeZone: string | null | undefined,
  fallback: string | null | undefined,
): string {
  if (typeof contactTimeZone === "string" && lookupZone(contactTimeZone) !== null) return contactTimeZone;
  if (typeof fallback === "string" && lookupZone(fallback) !== null) return fallback;
  return "UTC";
}

/**
 * The wall-clock parts of `at` in `timeZone`. weekday: 0=mon..6=sun.
 * Throws a RangeError for an invalid date or time zone.
 */
export function localParts(
  at: Date,
  timeZone: string,
): {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
} {
  const t = instantOf(at);
  const wall = t + offsetAt(zoneOf(timeZone), t);
  const days = Math.floor(wall / DAY_MS);
  const msOfDay = wall - days * DAY_MS;
  // Civil date from a day number: Howard Hinnant's days_from_civil, inverted.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // 0 = March
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return {
    year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1,
    hour: Math.floor(msOfDay / HOUR_MS),
    minute: Math.floor(msOfDay / MINUTE_MS) % 60,
    second: Math.floor(msOfDay / SECOND_MS) % 60,
    weekday: weekdayOfDay(days),
  };
}

/**
 * The instant at which the wall clock in `timeZone` shows the given local date and time. A time
 * skipped by a DST jump resolves to the first instant after the gap (e.g. 02:30 on the spring-forward
 * night in New York → 03:00 EDT); an ambiguous time (fall back) resolves to the earlier instant.
 * Fields outside their range roll over (day 32 of December is 1 January). Throws a RangeError for
 * fields that are not integers or an invalid time zone.
 */
export function zonedTimeToInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): Date {
  if (
    !Number.isInteger(year) ||
    !Number.isInteger(month) ||
    !Number.isInteger(day) ||
    !Number.isInteger(hour) ||
    !Number.isInteger(minute)
  ) {
    throw new RangeError(`invalid local time ${year}-${month}-${day} ${hour}:${minute}`);
  }
  const zone = zoneOf(timeZone);
  const wall = dayNumber(year, month, day) * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS;
  return new Date(wallToInstant(zone, wall, false));
}

/**
 * The first instant at or after `from` at which the member's local time is inside the window: local
 * weekday in `days` and local time in [from, to). `from` > `to` means an overnight window (22:00–02:00,
 * its weekday is that of its start); `from` = `to` means 24 hours from `from`. Returns `from` itself
 * when already inside. A clock going back into the window (fall back) counts as entering it.
 * Throws a RangeError for an invalid date, time zone or window.
 */
export function nextWindowStart(
  from: Date,
  timeZone: string,
  window: { days: Weekday[]; from: string; to: string },
): Date {
  const t = instantOf(from);
  const zone = zoneOf(timeZone);
  const days = weekdayMask(window.days);
  const startMinutes = localTimeMinutes(window.from);
  const endMinutes = localTimeMinutes(window.to);
  if (days === 0 || startMinutes < 0 || endMinutes < 0) {
    throw new RangeError(`invalid window ${JSON.stringify(window)}`);
  }
  const start = startMinutes * MINUTE_MS;
  const end = endMinutes * MINUTE_MS;
  const offset = offsetAt(zone, t);
  if (isInWindow(t + offset, days, start, end)) return from;

  // The window's start on each allowed day, from the day before `from` (a clock going back across
  // midnight can repeat it) up to two weeks ahead (a start may fall in a DST gap and be skipped).
  const today = Math.floor((t + offset) / DAY_MS);
  let found = Number.NaN;
  for (let day = today - 1; day <= today + 15; day++) {
    if ((days & (1 << weekdayOfDay(day))) === 0) continue;
    const wall = day * DAY_MS + start;
    let candidate = wallToInstant(zone, wall, false);
    if (candidate < t) candidate = wallToInstant(zone, wall, true);
    if (candidate < t || !isInWindow(candidate + offsetAt(zone, candidate), days, start, end)) continue;
    found = candidate;
    break;
  }
  if (Number.isNaN(found))
    throw new RangeError(`window ${JSON.stringify(window)} never opens in ${timeZone}`);

  // Before that start, a DST transition may put the clock straight inside the window.
  if (offsetAt(zone, found) !== offset) {
    const transition = firstChange(zone, t, found);
    if (transition < found && isInWindow(transition + offsetAt(zone, transition), days, start, end)) {
      found = transition;
    }
  }
  return new Date(found);
}

/**
 * For a wait until a date attribute: reads `value` (a string "YYYY-MM-DD", or an ISO date-time whose
 * local date in timeZone is used, or a Date), adds offsetDays calendar days, and returns the instant of
 * local time `at` ("HH:MM", default "09:00") on that day in timeZone. null when the value is missing or
 * not a date. A date-time without an offset ("2026-03-05T10:00") is read as local: its date is used.
 * Throws a RangeError for a bad `offsetDays`, `at` or time zone (the workflow validator rejects those).
 */
export function dateAttributeMoment(
  value: unknown,
  offsetDays: number,
  at: string | undefined,
  timeZone: string,
): Date | null {
  const atMinutes = at === undefined ? 9 * 60 : localTimeMinutes(at);
  if (atMinutes < 0) throw new RangeError(`invalid local time ${JSON.stringify(at)}`);
  if (!Number.isInteger(offsetDays)) throw new RangeError(`invalid offsetDays ${offsetDays}`);
  const zone = zoneOf(timeZone);
  const day = attributeLocalDay(value, zone);
  if (Number.isNaN(day)) return null;
  return new Date(wallToInstant(zone, (day + offsetDays) * DAY_MS + atMinutes * MINUTE_MS, false));
}

// ---------------------------------------------------------------------------------------------
// Zones and their offsets

/** A day with one change of offset, at `at` (UTC milliseconds). */
interface Transition {
  at: number;
  before: number;
  after: number;
}

interface Zone {
  format: Intl.DateTimeFormat;
  /** UTC day number → the day's offset in milliseconds, its one transition, or null (ask Intl). */
  days: Map<number, number | Transition | null>;
}

const zones = new Map<string, Zone | null>();

function lookupZone(name: string): Zone | null {
  let zone = zones.get(name);
  if (zone !== undefined) return zone;
  try {
    zone = {
      format: new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        era: "short",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      }),
      days: new Map(),
    };
  } catch {
    zone = null;
  }
  if (zones.size >= ZONE_LIMIT) zones.clear();
  zones.set(name, zone);
  return zone;
}

function zoneOf(name: string): Zone {
  const zone = typeof name === "string" ? lookupZone(name) : null;
  if (zone === null) throw new RangeError(`invalid time zone ${JSON.stringify(name)}`);
  return zone;
}

/** The zone's UTC offset at instant `t`, in milliseconds (local = t + offset). */
function offsetAt(zone: Zone, t: number): number {
  const day = Math.floor(t / DAY_MS);
  let entry = zone.days.get(day);
  if (entry === undefined) {
    entry = describeDay(zone, day);
    if (zone.days.size >= DAYS_PER_ZONE_LIMIT) zone.days.clear();
    zone.days.set(day, entry);
  }
  if (typeof entry === "number") return entry;
  if (entry === null) return intlOffset(zone, Math.floor(t / SECOND_MS) * SECOND_MS);
  return t < entry.at ? entry.before : entry.after;
}

function describeDay(zone: Zone, day: number): number | Transition | null {
  const start = day * DAY_MS;
  // A neighbour already known tells the offset at the shared midnight: one Intl call instead of two.
  const previous = zone.days.get(day - 1);
  const next = zone.days.get(day + 1);
  const before =
    previous === undefined || previous === null
      ? intlOffset(zone, start)
      : typeof previous === "number"
        ? previous
        : previous.after;
  const after =
    next === undefined || next === null
      ? intlOffset(zone, start + DAY_MS)
      : typeof next === "number"
        ? next
        : next.before;
  if (before === after) return before;
  // Offsets change on whole seconds: bisect seconds for the first one with a new offset.
  let low = start;
  let high = start + DAY_MS;
  while (high - low > SECOND_MS) {
    const middle = low + Math.floor((high - low) / (2 * SECOND_MS)) * SECOND_MS;
    if (intlOffset(zone, middle) === before) low = middle;
    else high = middle;
  }
  if (high < start + DAY_MS && intlOffset(zone, high) !== after) return null; // two changes in one day
  return { at: high, before, after };
}

/** The offset as Intl sees it at `t`, a whole second. */
function intlOffset(zone: Zone, t: number): number {
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let beforeChrist = false;
  for (const part of zone.format.formatToParts(t)) {
    switch (part.type) {
      case "year":
        year = Number(part.value);
        break;
      case "month":
        month = Number(part.value);
        break;
      case "day":
        day = Number(part.value);
        break;
      case "hour":
        hour = Number(part.value);
        break;
      case "minute":
        minute = Number(part.value);
        break;
      case "second":
        second = Number(part.value);
        break;
      case "era":
        beforeChrist = part.value === "BC" || part.value === "B";
        break;
    }
  }
  if (beforeChrist) year = 1 - year;
  return dayNumber(year, month, day) * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS + second * SECOND_MS - t;
}

/**
 * The instant at which the zone's clock shows `wall`. In a gap, the first instant after it; when the
 * clock shows `wall` twice, the earlier one, or the later one with `later`.
 */
function wallToInstant(zone: Zone, wall: number, later: boolean): number {
  // Offsets lie within a day of UTC, so any instant showing `wall` lies between these two.
  const offsetBefore = offsetAt(zone, wall - DAY_MS);
  const offsetAfter = offsetAt(zone, wall + DAY_MS);
  const first = wall - offsetBefore;
  const firstShows = offsetAt(zone, first) === offsetBefore;
  if (offsetBefore === offsetAfter && firstShows) return first;
  const second = wall - offsetAfter;
  const secondShows = offsetAt(zone, second) === offsetAfter;
  if (firstShows && secondShows) return later ? Math.max(first, second) : Math.min(first, second);
  if (firstShows) return first;
  if (secondShows) return second;
  return firstChange(zone, Math.min(first, second), Math.max(first, second));
}

/** The first instant in (low, high] with another offset than `low`'s; `high` when there is none. */
function firstChange(zone: Zone, low: number, high: number): number {
  const offset = offsetAt(zone, low);
  while (high - low > 1) {
    const middle = low + Math.floor((high - low) / 2);
    if (offsetAt(zone, middle) === offset) low = middle;
    else high = middle;
  }
  return high;
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function dayNumber(year: number, month: number, day: number): number {
  // Months outside 1..12 roll over into the years around; days roll over by themselves.
  const monthIndex = month - 1;
  const y = year + Math.floor(monthIndex / 12) - (((monthIndex % 12) + 12) % 12 < 2 ? 1 : 0);
  const m = (((monthIndex % 12) + 12) % 12) + 1;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** 0 = Monday .. 6 = Sunday; 1970-01-01 was a Thursday. */
function weekdayOfDay(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function instantOf(at: Date): number {
  const t = at.getTime();
  if (Number.isNaN(t)) throw new RangeError("invalid date");
  return t;
}

/** Minutes since midnight of "HH:MM", or -1. */
function localTimeMinutes(text: string): number {
  if (typeof text !== "string" || text.length !== 5 || text.charCodeAt(2) !== 58) return -1;
  const h1 = text.charCodeAt(0) - 48;
  const h2 = text.charCodeAt(1) - 48;
  const m1 = text.charCodeAt(3) - 48;
  const m2 = text.charCodeAt(4) - 48;
  if (h1 < 0 || h1 > 2 || h2 < 0 || h2 > 9 || m1 < 0 || m1 > 5 || m2 < 0 || m2 > 9) return -1;
  const hours = h1 * 10 + h2;
  return hours > 23 ? -1 : hours * 60 + m1 * 10 + m2;
}

const WEEKDAY_BITS: Readonly<Record<string, number>> = {
  mon: 1 << 0,
  tue: 1 << 1,
  wed: 1 << 2,
  thu: 1 << 3,
  fri: 1 << 4,
  sat: 1 << 5,
  sun: 1 << 6,
};

/** Bit n set when weekday n (0 = Monday) is allowed; 0 when a name is unknown. */
function weekdayMask(days: readonly Weekday[]): number {
  let mask = 0;
  for (const name of days) {
    const bit = Object.hasOwn(WEEKDAY_BITS, name) ? WEEKDAY_BITS[name] : undefined;
    if (bit === undefined) return 0;
    mask |= bit;
  }
  return mask;
}

/** Whether a local `wall` time is inside the window [start, end) of an allowed day (ms since midnight). */
function isInWindow(wall: number, days: number, start: number, end: number): boolean {
  const day = Math.floor(wall / DAY_MS);
  const time = wall - day * DAY_MS;
  const weekday = weekdayOfDay(day);
  if (start < end) return (days & (1 << weekday)) !== 0 && time >= start && time < end;
  // Overnight (or 24 hours when start = end): the tail belongs to the day before.
  return (
    ((days & (1 << weekday)) !== 0 && time >= start) ||
    ((days & (1 << ((weekday + 6) % 7))) !== 0 && time < end)
  );
}

// ---------------------------------------------------------------------------------------------
// Date attributes

/** "YYYY-MM-DD", optionally followed by a time and an offset ("T10:00", " 10:00:00.5Z", "T10:00+05:30"). */
const DATE_ATTRIBUTE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/** The local day number (days since 1970-01-01) of a date attribute's value in the zone, or NaN. */
function attributeLocalDay(value: unknown, zone: Zone): number {
  if (value instanceof Date) {
    const t = value.getTime();
    return Number.isNaN(t) ? Number.NaN : Math.floor((t + offsetAt(zone, t)) / DAY_MS);
  }
  if (typeof value !== "string" || value.length < 10 || value.length > 40) return Number.NaN;
  const match = DATE_ATTRIBUTE.exec(value);
  if (match === null) return Number.NaN;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  const date = dayNumber(year, month, day);
  if (match[4] === undefined) return date;
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  if (match[7] === undefined && match[8] === undefined) return date; // a local date-time: its date
  let offset = 0;
  if (match[8] !== undefined) {
    const offsetHours = Number(match[9]);
    const offsetMinutes = match[10] === undefined ? 0 : Number(match[10]);
    if (offsetHours > 23 || offsetMinutes > 59) return Number.NaN;
    offset = (match[8] === "-" ? -1 : 1) * (offsetHours * HOUR_MS + offsetMinutes * MINUTE_MS);
  }
  const t = date * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS + second * SECOND_MS - offset;
  return Math.floor((t + offsetAt(zone, t)) / DAY_MS);
}
