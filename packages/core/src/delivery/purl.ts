/**
 * Personal URLs (PURLs) for direct mail: `${PUBLIC_URL}/r/{code}`, printed on the piece as text and as
 * a QR code. The code is meant to be typed from paper: 10 characters of Crockford's base32 (digits and
 * capitals without I, L, O and U), 50 random bits from the operating system's CSPRNG. Reading a code
 * back forgives what people mistype: lower case, hyphens and spaces, O for 0, I and L for 1.
 */
import { randomBytes } from "node:crypto";
import type { Executor } from "../db/database.ts";
import { type PurlRow, selectPurl } from "./mail.repository.ts";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const PURL_CODE_LENGTH = 10;
const PURL_CODE = /^[0-9A-HJKMNP-TV-Z]{10}$/;

/** A new random code. 32 divides 256, so taking 5 bits of each byte keeps every symbol equally likely. */
export function newPurlCode(): string {
  const bytes = randomBytes(PURL_CODE_LENGTH);
  let code = "";
  for (const byte of bytes) code += CROCKFORD[byte & 31];
  return code;
}

/** The code a person meant, or undefined when it cannot be one (wrong length, a U or a symbol). */
export function normalisePurlCode(typed: string): string | undefined {
  const code = typed.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return PURL_CODE.test(code) ? code : undefined;
}

/** Where a PURL is served: `publicUrl` is PUBLIC_URL, without a trailing slash. */
export function purlUrl(publicUrl: string, code: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/r/${code}`;
}

/**
 * The ledger row, member and campaign a typed or scanned code stands for (any workspace: the code alone
 * identifies it), or undefined.
 */
export async function findPurl(db: Executor, typed: string): Promise<PurlRow | undefined> {
  const code = normalisePurlCode(typed);
  return code ? selectPurl(db, code) : undefined;
}
