import type { Weekday } from "@omneural/contracts/workflows";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDuration,
  dateAttributeMoment,
  durationMs,
  isValidTimeZone,
  localParts,
  memberTimeZone,
  nextWindowStart,
  zonedTimeToInstant,
} from "./local-time.ts";

const NEW_YORK = "America/New_York";
const LONDON = "Europe/London";
const KOLKATA = "Asia/Kolkata";
const LORD_HOWE = "Australia/Lord_Howe";
const KIRITIMATI = "Pacific/Kiritimati";
const TRICKY_ZONES = [
  NEW_YORK,
  LONDON,
  KOLKATA,
  LORD_HOWE,
  KIRITIMATI,
  "UTC",
  "Asia/Kathmandu",
  "America/Sao_Paulo",
];
const ALL_ZONES = Intl.supportedValuesOf("timeZone");
const WEEKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
type Window = Parameters<typeof nextWindowStart>[2];

const utc = (iso: string) => new Date(iso);

/** localParts of an instant, written as "YYYY-MM-DD HH:MM:SS <weekday>". */
function wallClock(at: Date, timeZone: string): string {
  const p = localParts(at, timeZone);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)} ${WEEKDAYS[p.weekday]}`;
}

describe("durationMs and addDuration", () => {
  it("adds up every part", () => {
    expect(durationMs({ days: 1, hours: 2, minutes: 3, seconds: 4 })).toBe(93_784_000);
    expect(durationMs({ minutes: 90 })).toBe(5_400_000);
    expect(durationMs({})).toBe(0);
  });

  it("adds elapsed time, not calendar days, across a DST change", () => {
    const saturdayNoonEst = utc("2026-03-07T17:00:00Z");
    const later = addDuration(saturdayNoonEst, { days: 1 });
    expect(later.toISOString()).toBe("2026-03-08T17:00:00.000Z");
    expect(wallClock(later, NEW_YORK)).toBe("2026-03-08 13:00:00 sun");
  });
});

describe("isValidTimeZone", () => {
  it.each([NEW_YORK, LONDON, KOLKATA, LORD_HOWE, KIRITIMATI, "UTC", "america/new_york"])(
    "accepts %s",
    (tz) => {
      expect(isValidTimeZone(tz)).toBe(true);
    },
  );

  it.each(["", "Mars/Olympus_Mons", "not a zone", "+05:00"])("rejects %j", (tz) => {
    expect(isValidTimeZone(tz)).toBe(false);
  });
});

describe("memberTimeZone", () => {
  it.each([
    [KOLKATA, LONDON, KOLKATA],
    ["Mars/Base", LONDON, LONDON],
    ["", LONDON, LONDON],
    [null, LONDON, LONDON],
    [undefined, "Nowhere/Else", "UTC"],
    [null, null, "UTC"],
  ])("chooses from contact %j and workspace %j: %s", (contact, workspace, expected) => {
    expect(memberTimeZone(contact, workspace)).toBe(expected);
  });
});

describe("localParts", () => {
  it.each([
    ["2026-03-08T06:59:59Z", NEW_YORK, "2026-03-08 01:59:59 sun"],
    ["2026-03-08T07:00:00Z", NEW_YORK, "2026-03-08 03:00:00 sun"],
    ["2026-11-01T05:30:00Z", NEW_YORK, "2026-11-01 01:30:00 sun"],
    ["2026-11-01T06:30:00Z", NEW_YORK, "2026-11-01 01:30:00 sun"],
    ["2026-11-01T07:00:00Z", NEW_YORK, "2026-11-01 02:00:00 sun"],
    ["2026-03-29T00:59:59Z", LONDON, "2026-03-29 00:59:59 sun"],
    ["2026-03-29T01:00:00Z", LONDON, "2026-03-29 02:00:00 sun"],
    ["2026-10-25T00:30:00Z", LONDON, "2026-10-25 01:30:00 sun"],
    ["2026-10-25T01:30:00Z", LONDON, "2026-10-25 01:30:00 sun"],
    ["2025-12-31T18:29:59Z", KOLKATA, "2025-12-31 23:59:59 wed"],
    ["2025-12-31T18:30:00Z", KOLKATA, "2026-01-01 00:00:00 thu"],
    ["2026-04-04T14:59:59Z", LORD_HOWE, "2026-04-05 01:59:59 sun"],
    ["2026-04-04T15:00:00Z", LORD_HOWE, "2026-04-05 01:30:00 sun"],
    ["2026-10-03T15:29:59Z", LORD_HOWE, "2026-10-04 01:59:59 sun"],
    ["2026-10-03T15:30:00Z", LORD_HOWE, "2026-10-04 02:30:00 sun"],
    ["2026-01-01T10:00:00Z", KIRITIMATI, "2026-01-02 00:00:00 fri"],
    ["2026-03-08T21:00:00Z", KIRITIMATI, "2026-03-09 11:00:00 mon"],
    // Kiritimati moved across the date line: 1994-12-31 never happened there.
    ["1994-12-31T09:59:59Z", KIRITIMATI, "1994-12-30 23:59:59 fri"],
    ["1994-12-31T10:00:00Z", KIRITIMATI, "1995-01-01 00:00:00 sun"],
    ["2028-02-29T12:00:00Z", "UTC", "2028-02-29 12:00:00 tue"],
    ["1969-12-31T23:59:59.999Z", "UTC", "1969-12-31 23:59:59 wed"],
  ])("reads %s in %s as %s", (iso, timeZone, expected) => {
    expect(wallClock(utc(iso), timeZone)).toBe(expected);
  });

  it("throws on an invalid date or time zone", () => {
    expect(() => localParts(new Date(Number.NaN), NEW_YORK)).toThrow(RangeError);
    expect(() => localParts(new Date(), "Mars/Olympus_Mons")).toThrow(RangeError);
  });

  it("agrees with Intl.DateTimeFormat in every zone from 1900 to 2100", () => {
    const formats = new Map<string, Intl.DateTimeFormat>();
    const reference = (t: number, timeZone: string) => {
      let format = formats.get(timeZone);
      if (format === undefined) {
        format = new Intl.DateTimeFormat("en-US", {
          timeZone,
          hourCycle: "h23",
          weekday: "short",
          year: "numeric",
          month: "numeric",
          day: "numeric",
          hour: "numeric",
          minute: "numeric",
          second: "numeric",
        });
        formats.set(timeZone, format);
      }
      const parts = Object.fromEntries(format.formatToParts(t).map((part) => [part.type, part.value]));
      return {
        year: Number(parts.year),
        month: Number(parts.month),
        day: Number(parts.day),
        hour: Number(parts.hour),
        minute: Number(parts.minute),
        second: Number(parts.second),
        weekday: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday ?? ""),
      };
    };
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.constantFrom(...ALL_ZONES, ...TRICKY_ZONES),
        (t, timeZone) => {
          expect(localParts(new Date(t), timeZone)).toEqual(reference(t, timeZone));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("zonedTimeToInstant", () => {
  it.each([
    [[2026, 3, 8, 1, 59], NEW_YORK, "2026-03-08T06:59:00.000Z"],
    [[2026, 3, 8, 2, 30], NEW_YORK, "2026-03-08T07:00:00.000Z"], // skipped: 03:00 EDT
    [[2026, 3, 8, 2, 0], NEW_YORK, "2026-03-08T07:00:00.000Z"],
    [[2026, 3, 8, 3, 0], NEW_YORK, "2026-03-08T07:00:00.000Z"],
    [[2026, 11, 1, 0, 59], NEW_YORK, "2026-11-01T04:59:00.000Z"],
    [[2026, 11, 1, 1, 30], NEW_YORK, "2026-11-01T05:30:00.000Z"], // twice: the EDT one
    [[2026, 11, 1, 2, 0], NEW_YORK, "2026-11-01T07:00:00.000Z"],
    [[2026, 3, 29, 1, 30], LONDON, "2026-03-29T01:00:00.000Z"], // skipped: 02:00 BST
    [[2026, 10, 25, 1, 30], LONDON, "2026-10-25T00:30:00.000Z"], // twice: the BST one
    [[2026, 7, 1, 9, 0], LONDON, "2026-07-01T08:00:00.000Z"],
    [[2026, 1, 1, 0, 0], KOLKATA, "2025-12-31T18:30:00.000Z"],
    [[2026, 10, 4, 2, 15], LORD_HOWE, "2026-10-03T15:30:00.000Z"], // skipped: 02:30 +11
    [[2026, 4, 5, 1, 45], LORD_HOWE, "2026-04-04T14:45:00.000Z"], // twice: the +11 one
    [[2026, 1, 1, 0, 0], KIRITIMATI, "2025-12-31T10:00:00.000Z"],
    [[1994, 12, 31, 12, 0], KIRITIMATI, "1994-12-31T10:00:00.000Z"], // a skipped day
    [[2026, 12, 32, 0, 0], "UTC", "2027-01-01T00:00:00.000Z"],
    [[2026, 13, 1, 0, 0], "UTC", "2027-01-01T00:00:00.000Z"],
    [[2026, 3, 0, 0, 0], "UTC", "2026-02-28T00:00:00.000Z"],
    [[50, 6, 1, 12, 0], "UTC", "0050-06-01T12:00:00.000Z"],
  ])("%j in %s is %s", ([year, month, day, hour, minute], timeZone, expected) => {
    expect(zonedTimeToInstant(year!, month!, day!, hour!, minute!, timeZone).toISOString()).toBe(expected);
  });

  it("throws on fields that are not integers or an invalid time zone", () => {
    expect(() => zonedTimeToInstant(2026, 1, 1.5, 0, 0, "UTC")).toThrow(RangeError);
    expect(() => zonedTimeToInstant(2026, 1, 1, Number.NaN, 0, "UTC")).toThrow(RangeError);
    expect(() => zonedTimeToInstant(2026, 1, 1, 0, 0, "Nowhere")).toThrow(RangeError);
  });

  it("shows the wall time asked for, or is the first instant after the gap that skips it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 2060 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.constantFrom(...ALL_ZONES, ...TRICKY_ZONES),
        (year, month, day, hour, minute, timeZone) => {
          const wall = Date.UTC(year, month - 1, day, hour, minute);
          const wallOf = (t: number) => {
            const p = localParts(new Date(t), timeZone);
            return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
          };
          const at = zonedTimeToInstant(year, month, day, hour, minute, timeZone).getTime();
          if (wallOf(at) === wall) {
            // The earlier of two: a minute before, the clock did not show this time either.
            expect(wallOf(at - 60_000)).not.toBe(wall);
          } else {
            expect(wallOf(at)).toBeGreaterThan(wall);
            expect(wallOf(at - 1000)).toBeLessThan(wall);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("turns every instant's wall time back into that instant, or an earlier one showing the same time", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1970, 0, 1) / 60_000, max: Date.UTC(2060, 0, 1) / 60_000 }),
        fc.constantFrom(...ALL_ZONES, ...TRICKY_ZONES),
        (minutes, timeZone) => {
          const at = new Date(minutes * 60_000);
          const p = localParts(at, timeZone);
          const back = zonedTimeToInstant(p.year, p.month, p.day, p.hour, p.minute, timeZone);
          expect(back.getTime()).toBeLessThanOrEqual(at.getTime());
          // To the minute: before 1972 some zones were seconds off UTC (Monrovia, -00:44:30).
          const toTheMinute = (d: Date) => wallClock(d, timeZone).replace(/:\d\d /, " ");
          expect(toTheMinute(back)).toBe(toTheMinute(at));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("nextWindowStart", () => {
  const weekdays9to5: Window = { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00" };
  const fridayNight: Window = { days: ["fri"], from: "22:00", to: "02:00" };

  it("returns the same instant when already inside the window", () => {
    const wednesdayNoon = utc("2026-03-04T17:00:00Z");
    expect(nextWindowStart(wednesdayNoon, NEW_YORK, weekdays9to5)).toBe(wednesdayNoon);
    const atTheStart = utc("2026-03-04T14:00:00Z");
    expect(nextWindowStart(atTheStart, NEW_YORK, weekdays9to5)).toBe(atTheStart);
  });

  it.each<[string, string, string, Window, string]>([
    [
      "before the window: its start the same day",
      "2026-03-04T12:00:00Z",
      NEW_YORK,
      weekdays9to5,
      "2026-03-04 09:00:00 wed",
    ],
    [
      "at the end of the window: the next day",
      "2026-03-04T22:00:00Z",
      NEW_YORK,
      weekdays9to5,
      "2026-03-05 09:00:00 thu",
    ],
    [
      "after the window: the next allowed weekday",
      "2026-03-06T23:00:00Z",
      NEW_YORK,
      weekdays9to5,
      "2026-03-09 09:00:00 mon",
    ],
    [
      "Tue–Thu 09:00–11:00 from a Friday afternoon: next Tuesday, after spring forward",
      "2026-03-06T20:00:00Z",
      NEW_YORK,
      { days: ["tue", "wed", "thu"], from: "09:00", to: "11:00" },
      "2026-03-10 09:00:00 tue",
    ],
    [
      "in India, after hours: the next morning",
      "2026-03-04T12:00:00Z",
      KOLKATA,
      weekdays9to5,
      "2026-03-05 09:00:00 thu",
    ],
    [
      "in London, across spring forward",
      "2026-03-27T12:00:00Z",
      LONDON,
      { days: ["mon"], from: "09:00", to: "10:00" },
      "2026-03-30 09:00:00 mon",
    ],
    [
      "in Kiritimati, whose Monday starts on Sunday in UTC",
      "2026-03-08T23:00:00Z",
      KIRITIMATI,
      { days: ["mon"], from: "10:00", to: "12:00" },
      "2026-03-16 10:00:00 mon",
    ],
    ["overnight, before it starts", "2026-03-07T02:00:00Z", NEW_YORK, fridayNight, "2026-03-06 22:00:00 fri"],
    [
      "overnight, from a day without one",
      "2026-03-06T04:00:00Z",
      NEW_YORK,
      fridayNight,
      "2026-03-06 22:00:00 fri",
    ],
    ["overnight, after it ended", "2026-03-07T08:00:00Z", NEW_YORK, fridayNight, "2026-03-13 22:00:00 fri"],
    [
      "overnight, after midnight of a day that has none",
      "2026-03-08T06:00:00Z",
      NEW_YORK,
      fridayNight,
      "2026-03-13 22:00:00 fri",
    ],
    [
      "from = to: the whole day",
      "2026-03-04T04:00:00Z",
      NEW_YORK,
      { days: ["thu"], from: "00:00", to: "00:00" },
      "2026-03-05 00:00:00 thu",
    ],
  ])("%s", (_, from, timeZone, window, expected) => {
    expect(wallClock(nextWindowStart(utc(from), timeZone, window), timeZone)).toBe(expected);
  });

  it("is open in the tail of an overnight window after midnight", () => {
    const saturdayOneAm = utc("2026-03-07T06:00:00Z");
    expect(nextWindowStart(saturdayOneAm, NEW_YORK, fridayNight)).toBe(saturdayOneAm);
    const kolkataMidnight = utc("2026-03-07T18:40:00Z"); // Sunday 00:10 IST
    expect(nextWindowStart(kolkataMidnight, KOLKATA, { days: ["sat"], from: "23:30", to: "00:30" })).toBe(
      kolkataMidnight,
    );
  });

  it("opens a window whose start falls in a DST gap when the clock jumps over it", () => {
    const sundayWindow: Window = { days: ["sun"], from: "02:30", to: "04:00" };
    const at = nextWindowStart(utc("2026-03-08T06:00:00Z"), NEW_YORK, sundayWindow);
    expect(at.toISOString()).toBe("2026-03-08T07:00:00.000Z");
    expect(wallClock(at, NEW_YORK)).toBe("2026-03-08 03:00:00 sun");

    const lordHowe = nextWindowStart(utc("2026-10-03T02:00:00Z"), LORD_HOWE, {
      days: ["sun"],
      from: "02:00",
      to: "03:00",
    });
    expect(lordHowe.toISOString()).toBe("2026-10-03T15:30:00.000Z");

    const london = nextWindowStart(utc("2026-03-28T12:00:00Z"), LONDON, {
      days: ["sun"],
      from: "01:30",
      to: "03:00",
    });
    expect(london.toISOString()).toBe("2026-03-29T01:00:00.000Z");
  });

  it("skips a day whose whole window falls in a DST gap", () => {
    const at = nextWindowStart(utc("2026-03-08T06:00:00Z"), NEW_YORK, {
      days: ["sun"],
      from: "02:00",
      to: "03:00",
    });
    expect(wallClock(at, NEW_YORK)).toBe("2026-03-15 02:00:00 sun");
  });

  it("opens when the clock falls back into the window", () => {
    const sunday: Weekday[] = ["sun"];
    // 01:45 EDT; at 02:00 EDT the clock goes back to 01:00 EST, inside 01:00–01:30.
    expect(
      nextWindowStart(utc("2026-11-01T05:45:00Z"), NEW_YORK, { days: sunday, from: "01:00", to: "01:30" }),
    ).toEqual(utc("2026-11-01T06:00:00Z"));
    // 01:50 EDT; 01:15 comes round again at 06:15 UTC.
    expect(
      nextWindowStart(utc("2026-11-01T05:50:00Z"), NEW_YORK, { days: sunday, from: "01:15", to: "01:45" }),
    ).toEqual(utc("2026-11-01T06:15:00Z"));
    // 01:00 EDT; the first 01:15 is the EDT one.
    expect(
      nextWindowStart(utc("2026-11-01T05:00:00Z"), NEW_YORK, { days: sunday, from: "01:15", to: "01:45" }),
    ).toEqual(utc("2026-11-01T05:15:00Z"));
  });

  it("throws on an invalid window or time zone", () => {
    const now = utc("2026-03-04T12:00:00Z");
    expect(() => nextWindowStart(now, NEW_YORK, { days: [], from: "09:00", to: "17:00" })).toThrow(
      RangeError,
    );
    expect(() => nextWindowStart(now, NEW_YORK, { days: ["mon"], from: "9:00", to: "17:00" })).toThrow(
      RangeError,
    );
    expect(() => nextWindowStart(now, NEW_YORK, { days: ["mon"], from: "09:00", to: "24:00" })).toThrow(
      RangeError,
    );
    expect(() =>
      nextWindowStart(now, NEW_YORK, { days: ["moon" as Weekday], from: "09:00", to: "17:00" }),
    ).toThrow(RangeError);
    expect(() => nextWindowStart(now, "Nowhere", weekdays9to5)).toThrow(RangeError);
  });

  it("finds the same instant as a minute-by-minute scan of the member's clock", () => {
    const inWindow = (at: Date, timeZone: string, days: Weekday[], from: string, to: string) => {
      const p = localParts(at, timeZone);
      const time = `${String(p.hour).padStart(2, "0")}:${String(p.minute).padStart(2, "0")}`;
      const today = days.includes(WEEKDAYS[p.weekday]!);
      const yesterday = days.includes(WEEKDAYS[(p.weekday + 6) % 7]!);
      if (from < to) return today && time >= from && time < to;
      return (today && time >= from) || (yesterday && time < to);
    };
    const transitions = [
      "2026-03-08T07:00:00Z",
      "2026-11-01T06:00:00Z",
      "2026-03-29T01:00:00Z",
      "2026-10-25T01:00:00Z",
      "2026-04-04T15:00:00Z",
      "2026-10-03T15:30:00Z",
      "2026-06-15T00:00:00Z",
    ].map((iso) => utc(iso).getTime());
    const quarterHour = fc
      .integer({ min: 0, max: 95 })
      .map((q) => `${String(Math.floor(q / 4)).padStart(2, "0")}:${String((q % 4) * 15).padStart(2, "0")}`);
    fc.assert(
      fc.property(
        fc.constantFrom(...transitions),
        fc.integer({ min: -4 * 86_400_000, max: 4 * 86_400_000 }),
        fc.constantFrom(...TRICKY_ZONES),
        fc.subarray(WEEKDAYS, { minLength: 1 }),
        quarterHour,
        quarterHour,
        (base, shift, timeZone, days, from, to) => {
          const start = new Date(base + shift);
          let expected = start;
          if (!inWindow(start, timeZone, days, from, to)) {
            let t = Math.ceil(start.getTime() / 60_000) * 60_000;
            while (!inWindow(new Date(t), timeZone, days, from, to)) t += 60_000;
            expected = new Date(t);
          }
          expect(nextWindowStart(start, timeZone, { days, from, to })).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps up with 100,000 calls across zones", () => {
    const windows: Window[] = [
      weekdays9to5,
      fridayNight,
      { days: ["tue", "wed", "thu"], from: "09:00", to: "11:00" },
      { days: ["sat", "sun"], from: "10:30", to: "18:45" },
    ];
    const start = utc("2026-03-01T00:00:00Z").getTime();
    let notBefore = 0;
    for (let i = 0; i < 100_000; i++) {
      const from = new Date(start + i * 317_003); // a year of instants, a prime step apart
      const at = nextWindowStart(from, TRICKY_ZONES[i % TRICKY_ZONES.length]!, windows[i % windows.length]!);
      if (at >= from) notBefore++;
    }
    expect(notBefore).toBe(100_000);
  });
});

describe("dateAttributeMoment", () => {
  it.each([
    ["a date at 09:00 by default", "2026-03-05", 0, undefined, NEW_YORK, "2026-03-05T14:00:00.000Z"],
    ["a date plus days, at a given time", "2026-03-05", 3, "14:30", KOLKATA, "2026-03-08T09:00:00.000Z"],
    ["across spring forward", "2026-03-07", 1, "10:00", NEW_YORK, "2026-03-08T14:00:00.000Z"],
    ["at a time skipped by DST", "2026-03-08", 0, "02:30", NEW_YORK, "2026-03-08T07:00:00.000Z"],
    ["at an ambiguous time", "2026-11-01", 0, "01:30", NEW_YORK, "2026-11-01T05:30:00.000Z"],
    ["a negative offset across a month end", "2026-03-01", -1, undefined, LONDON, "2026-02-28T09:00:00.000Z"],
    ["a negative offset onto a leap day", "2028-03-01", -1, undefined, LONDON, "2028-02-29T09:00:00.000Z"],
    ["a month back onto a leap day", "2028-03-31", -31, "00:00", "UTC", "2028-02-29T00:00:00.000Z"],
    ["from a leap day, a year on", "2028-02-29", 365, "00:00", "UTC", "2029-02-28T00:00:00.000Z"],
    ["across a year end", "2026-12-31", 1, "00:00", KIRITIMATI, "2026-12-31T10:00:00.000Z"],
    ["in Lord Howe", "2026-07-01", 0, undefined, LORD_HOWE, "2026-06-30T22:30:00.000Z"],
    // 2026-03-06 07:30 UTC: still the 5th in Los Angeles, already the 6th in New York.
    [
      "an ISO date-time with an offset: its date in the zone",
      "2026-03-05T23:30:00-08:00",
      0,
      undefined,
      NEW_YORK,
      "2026-03-06T14:00:00.000Z",
    ],
    [
      "an ISO date-time in UTC, already tomorrow in Kiritimati",
      "2026-03-05T10:00:00Z",
      0,
      "09:00",
      KIRITIMATI,
      "2026-03-05T19:00:00.000Z",
    ],
    [
      "an ISO date-time with fractions and a compact offset",
      "2026-03-05T10:00:00.123+0530",
      0,
      undefined,
      KOLKATA,
      "2026-03-05T03:30:00.000Z",
    ],
    [
      "a date-time without an offset: its own date",
      "2026-03-05T23:30",
      0,
      undefined,
      KIRITIMATI,
      "2026-03-04T19:00:00.000Z",
    ],
    ["a space instead of T", "2026-03-05 23:30:00Z", 0, undefined, NEW_YORK, "2026-03-05T14:00:00.000Z"],
  ])("%s", (_, value, offsetDays, at, timeZone, expected) => {
    expect(dateAttributeMoment(value, offsetDays, at, timeZone)?.toISOString()).toBe(expected);
  });

  it("reads a Date's local date in the zone", () => {
    const lateEveningInNewYork = utc("2026-03-06T03:00:00Z"); // 22:00 on the 5th
    expect(dateAttributeMoment(lateEveningInNewYork, 0, undefined, NEW_YORK)?.toISOString()).toBe(
      "2026-03-05T14:00:00.000Z",
    );
  });

  it.each([
    "2026-13-01",
    "2026-00-10",
    "2026-02-29",
    "2026-04-31",
    "2026-3-5",
    "tomorrow",
    "",
    "2026-03-05T25:00:00Z",
    "2026-03-05T10:00:00+25:00",
    "2026-03-05T10:60",
    "2026-03-05Z",
    " 2026-03-05",
    42,
    1_772_668_800_000,
    null,
    undefined,
    true,
    {},
    ["2026-03-05"],
    new Date(Number.NaN),
  ])("is null for %j", (value) => {
    expect(dateAttributeMoment(value, 0, undefined, NEW_YORK)).toBeNull();
  });

  it("throws on a bad time of day, offset or time zone", () => {
    expect(() => dateAttributeMoment("2026-03-05", 0, "9am", NEW_YORK)).toThrow(RangeError);
    expect(() => dateAttributeMoment("2026-03-05", 0.5, undefined, NEW_YORK)).toThrow(RangeError);
    expect(() => dateAttributeMoment("2026-03-05", 0, undefined, "Nowhere")).toThrow(RangeError);
  });
});
