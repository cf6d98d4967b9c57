/**
 * SMS encoding and segment counting, as carriers bill them. A message whose every character is in the
 * GSM 03.38 alphabet travels as GSM-7: 160 septets in one part, else parts of 153 (7 go to the
 * concatenation header). Characters of the GSM extension table (`^ { } [ ] ~ \ | €` and form feed)
 * take two septets (escape + character), and a pair is never split across parts. Anything else (é is
 * in the alphabet; ê, emoji and most non-Latin scripts are not) turns the whole message into UCS-2:
 * 70 UTF-16 units in one part, else parts of 67, never splitting a surrogate pair (an emoji).
 */

const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM7_EXTENSION = new Set("^{}\\[~]|€\f");

export type SmsEncoding = "GSM-7" | "UCS-2";

export interface SmsSegments {
  encoding: SmsEncoding;
  /** Billable parts. An empty message counts as one. */
  segments: number;
  /** Characters as a reader counts them (Unicode code points). */
  characters: number;
  /** Septets (GSM-7) or UTF-16 units (UCS-2) in all. */
  units: number;
}

export const SEGMENT_LIMITS = {
  "GSM-7": { single: 160, part: 153 },
  "UCS-2": { single: 70, part: 67 },
} as const;

export function smsEncodingOf(body: string): SmsEncoding {
  for (const char of body) {
    if (!GSM7_BASIC.has(char) && !GSM7_EXTENSION.has(char)) return "UCS-2";
  }
  return "GSM-7";
}

/** What each character costs in the message's encoding. */
function costs(body: string, encoding: SmsEncoding): number[] {
  return [...body].map(
    (char) =>
      encoding === "GSM-7" ? (GSM7_EXTENSION.has(char) ? 2 : 1) : char.length /* 2 for a surrogate pair */,
  );
}

export function countSmsSegments(body: string): SmsSegments {
  const encoding = smsEncodingOf(body);
  const charCosts = costs(body, encoding);
  const units = charCosts.reduce((sum, cost) => sum + cost, 0);
  const limits = SEGMENT_LIMITS[encoding];
  if (units <= limits.single) return { encoding, segments: 1, characters: charCosts.length, units };
  let segments = 1;
  let used = 0;
  for (const cost of charCosts) {
    if (used + cost > limits.part) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return { encoding, segments, characters: charCosts.length, units };
}
