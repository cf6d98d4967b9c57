import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countSmsSegments, smsEncodingOf } from "./sms-segments.ts";

describe("countSmsSegments", () => {
  it.each([
    ["", "GSM-7", 1, 0],
    ["a".repeat(160), "GSM-7", 1, 160],
    ["a".repeat(161), "GSM-7", 2, 161],
    ["a".repeat(306), "GSM-7", 2, 306],
    ["a".repeat(307), "GSM-7", 3, 307],
    ["é".repeat(160), "GSM-7", 1, 160], // é is in the GSM alphabet
    ["ê", "UCS-2", 1, 1], // ê is not
    ["a".repeat(70).replace("a", "ж"), "UCS-2", 1, 70],
    ["ж".repeat(71), "UCS-2", 2, 71],
    ["ж".repeat(134), "UCS-2", 2, 134],
    ["ж".repeat(135), "UCS-2", 3, 135],
  ])("%#: %j is %s in %i segment(s)", (body, encoding, segments, characters) => {
    expect(countSmsSegments(body)).toMatchObject({ encoding, segments, characters });
  });

  it("counts GSM-7 extension characters as two septets", () => {
    expect(countSmsSegments("€".repeat(80))).toMatchObject({ encoding: "GSM-7", units: 160, segments: 1 });
    expect(countSmsSegments(`${"€".repeat(80)}a`)).toMatchObject({ units: 161, segments: 2 });
    expect(countSmsSegments("[]{}~^|\\")).toMatchObject({ encoding: "GSM-7", units: 16, characters: 8 });
  });

  it("never splits an escape pair across parts", () => {
    // 152 plain septets, then € (2 septets) does not fit in the first part's 153.
    const body = `${"a".repeat(152)}€${"a".repeat(10)}`;
    expect(countSmsSegments(body)).toMatchObject({ units: 164, segments: 2 });
    const tight = `${"a".repeat(152)}€${"a".repeat(152)}`; // 152 | € + 151 | 1
    expect(countSmsSegments(tight).segments).toBe(3);
  });

  it("counts an emoji as two UTF-16 units, one character, and never splits it", () => {
    expect(countSmsSegments("Hi 👋")).toMatchObject({
      encoding: "UCS-2",
      units: 5,
      characters: 4,
      segments: 1,
    });
    expect(countSmsSegments("😀".repeat(35))).toMatchObject({ units: 70, segments: 1 });
    // One emoji in a 160-character message: UCS-2, 161 units, 3 segments.
    expect(countSmsSegments(`${"a".repeat(159)}😀`)).toMatchObject({
      characters: 160,
      units: 161,
      segments: 3,
    });
    expect(countSmsSegments("😀".repeat(36))).toMatchObject({ units: 72, segments: 2 });
    // 66 units then an emoji: it goes whole to the second part.
    expect(countSmsSegments(`${"ж".repeat(66)}😀${"ж".repeat(66)}`).segments).toBe(3);
  });

  it("agrees with a simple reference on any text", () => {
    const alphabet = fc.constantFrom(..."ab €[é\nж😀ê".split(/(?:)/u));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 400 }), (chars) => {
        const body = chars.join("");
        const gsm = chars.every((c) => !"ж😀ê".includes(c));
        expect(smsEncodingOf(body)).toBe(gsm ? "GSM-7" : "UCS-2");
        const units = chars.reduce((n, c) => n + (gsm ? (c === "€" || c === "[" ? 2 : 1) : c.length), 0);
        const { segments } = countSmsSegments(body);
        const [single, part] = gsm ? [160, 153] : [70, 67];
        if (units <= single) expect(segments).toBe(1);
        else {
          // Whole characters only: at least the unit count needs, at most one part more per part.
          expect(segments).toBeGreaterThanOrEqual(Math.ceil(units / part));
          expect(segments).toBeLessThanOrEqual(Math.ceil(units / (part - 1)));
        }
      }),
    );
  });
});
