import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REFRESH_AUDIENCES_JOB } from "../audiences/membership.ts";
import type { NormalizedContact } from "../contacts/normalize.ts";
import { REFRESH_AUDIENCES_AFTER_IMPORT_JOB } from "./import.service.ts";
import {
  ContactIds,
  CopyRows,
  escapeCopyText,
  uuidBytes,
  writeContactRow,
  writeStagingRow,
} from "./import.ts";

/** The reference: COPY text built as a string, then encoded as UTF-8 in one go. */
function copyField(value: string | null): string {
  return value === null ? "\\N" : escapeCopyText(value);
}

function referenceProfile(n: NormalizedContact, absentConsent: string): string {
  const attrs = Object.keys(n.attributes).length ? JSON.stringify(n.attributes) : "{}";
  return `${[
    n.externalId,
    n.email,
    n.phone,
    n.firstName,
    n.lastName,
    n.addressLine1,
    n.addressLine2,
    n.city,
    n.region,
    n.postalCode,
    n.country,
    n.timezone,
    attrs,
  ]
    .map(copyField)
    .join("\t")}\t${n.consent.email ?? absentConsent}\t${n.consent.sms ?? absentConsent}\t${
    n.consent.mail ?? absentConsent
  }\t${n.consent.ads ?? absentConsent}\n`;
}

const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** The reference: binary COPY fields built one Buffer at a time. */
function referenceBinaryContact(ws: string, id: string, n: NormalizedContact): Buffer {
  const uuid = (s: string) => Buffer.concat([int32(16), Buffer.from(s.replaceAll("-", ""), "hex")]);
  const text = (v: string | null) => {
    if (v === null) return int32(-1);
    const bytes = Buffer.from(v, "utf8");
    return Buffer.concat([int32(bytes.length), bytes]);
  };
  const json = Buffer.from(Object.keys(n.attributes).length ? JSON.stringify(n.attributes) : "{}", "utf8");
  return Buffer.concat([
    int16(19),
    uuid(ws),
    uuid(id),
    ...[
      n.externalId,
      n.email,
      n.phone,
      n.firstName,
      n.lastName,
      n.addressLine1,
      n.addressLine2,
      n.city,
      n.region,
      n.postalCode,
      n.country,
      n.timezone,
    ].map(text),
    int32(json.length + 1),
    Buffer.from([1]),
    json,
    ...[n.consent.email, n.consent.sms, n.consent.mail, n.consent.ads].map((c) => text(c ?? "never_asked")),
  ]);
}

// Text with what COPY must escape, non-ASCII (accents, emoji, lone surrogates) and plain ASCII.
const text = fc.oneof(
  fc.string({
    unit: fc.constantFrom("a", "Z", " ", "\\", "\t", "\n", "\r", "é", "€", "😀", "\uD800", "\uDC00", "N"),
  }),
  fc.string({ unit: "grapheme" }),
  fc.string(),
);
const maybe = fc.option(text, { nil: null });
const consent = fc.option(
  fc.constantFrom("subscribed" as const, "unsubscribed" as const, "never_asked" as const),
  {
    nil: undefined,
  },
);
const contact = fc.record({
  externalId: maybe,
  email: maybe,
  phone: maybe,
  firstName: maybe,
  lastName: maybe,
  addressLine1: maybe,
  addressLine2: maybe,
  city: maybe,
  region: maybe,
  postalCode: maybe,
  country: maybe,
  timezone: maybe,
  attributes: fc.dictionary(fc.string(), fc.oneof(text, fc.double({ noNaN: true }), fc.boolean())),
  consent: fc.record({ email: consent, sms: consent, mail: consent, ads: consent }, { requiredKeys: [] }),
}) as fc.Arbitrary<NormalizedContact>;

describe("CopyRows", () => {
  it("writes the same bytes as escaping each value and encoding the row string", () => {
    fc.assert(
      fc.property(fc.array(maybe, { maxLength: 20 }), (values) => {
        const rows = new CopyRows(16); // tiny, so that the buffer has to grow
        for (const value of values) {
          rows.text(value);
          rows.tab();
        }
        rows.endRow();
        const expected = Buffer.from(`${values.map((v) => `${copyField(v)}\t`).join("")}\n`, "utf8");
        expect(rows.take().equals(expected)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("encodes staging rows as the string form did", () => {
    const id = "0193a0a0-1111-7000-8000-000000000002";
    fc.assert(
      fc.property(
        fc.array(contact, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.constantFrom(0, 1, 2),
        (ns, line, rank) => {
          const rows = new CopyRows(64);
          let expected = "";
          for (const n of ns) {
            writeStagingRow(rows, line, id, n, rank);
            expected += `${line}\t${rank}\t${id}\t${referenceProfile(n, "\\N")}`;
          }
          expect(rows.take()).toEqual(Buffer.from(expected, "utf8"));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("encodes contact rows in binary COPY format", () => {
    const ws = "0193a0a0-0000-7000-8000-00000000000f";
    const id = "0193A0A0-1111-7abc-8def-000000000002";
    fc.assert(
      fc.property(fc.array(contact, { minLength: 1, maxLength: 5 }), (ns) => {
        const rows = new CopyRows(64);
        rows.binaryHeader();
        for (const n of ns) writeContactRow(rows, uuidBytes(ws), uuidBytes(id), n);
        rows.binaryTrailer();
        const expected = Buffer.concat([
          Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"),
          int32(0),
          int32(0),
          ...ns.map((n) => referenceBinaryContact(ws, id, n)),
          int16(-1),
        ]);
        expect(rows.take()).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses an id that is not a UUID", () => {
    expect(() => new CopyRows().binaryUuid("0193a0a0-1111-7abc-8def-00000000000g")).toThrow(/not a UUID/);
  });

  it("hands over what was written and starts afresh", () => {
    const rows = new CopyRows(8);
    rows.ascii("abc");
    const first = rows.take();
    rows.ascii("de");
    expect(first.toString()).toBe("abc");
    expect(rows.take().toString()).toBe("de");
    expect(rows.byteLength).toBe(0);
  });
});

describe("ContactIds", () => {
  const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it("makes version 7 UUIDs whose text and bytes agree, in order, even within one millisecond", () => {
    const ids = new ContactIds();
    let previous = "";
    for (let i = 0; i < 20_000; i++) {
      ids.next(i < 10_000 ? 1_700_000_000_000 : 1_700_000_000_000 + i);
      const text = ids.text();
      expect(text).toMatch(UUID_V7);
      expect(Buffer.from(uuidBytes(text)).equals(Buffer.from(ids.bytes))).toBe(true);
      expect(text > previous).toBe(true);
      previous = text;
    }
  });

  it("carries the millisecond in its first 48 bits, as shared/ids.ts's uuidv7 does", () => {
    const ids = new ContactIds();
    ids.next(Date.UTC(2026, 10, 28));
    const ms = Number.parseInt(ids.text().replace("-", "").slice(0, 12), 16);
    expect(ms).toBe(Date.UTC(2026, 10, 28));
  });
});

describe("the import's audience refresh job", () => {
  it("is the job audiences/membership.ts runs", () => {
    expect(REFRESH_AUDIENCES_AFTER_IMPORT_JOB).toBe(REFRESH_AUDIENCES_JOB);
  });
});
