/**
 * Contact normalisation shared by the REST API and the CSV importer.
 *
 * The importer runs this for every row of files with millions of rows, so the hot paths avoid
 * per-call allocation where that is easy, every table is built once (lazily, so importing the
 * module stays cheap) and every lookup that depends only on its input is cached in a Map.
 * Caches of user-supplied strings are capped so a file full of junk can't grow them without bound.
 */
import { domainToASCII, domainToUnicode } from "node:url";
import { toAttributeKey } from "@omneural/contracts/column-detection";
import { getAllCountries, getAllTimezones, getCountry, getTimezone } from "countries-and-timezones";
// libphonenumber-js/core's Metadata class is exported by both its ESM and CommonJS builds;
// "max" only exports it from the ESM one.
import { Metadata } from "libphonenumber-js/core";
// The "max" metadata carries the per-type digit patterns; with "min", isValid() only checks the
// length, which lets through numbers in unallocated ranges that cost money to send SMS to.
import parsePhoneNumberFromString, { type CountryCode, isSupportedCountry } from "libphonenumber-js/max";
import maxMetadata from "libphonenumber-js/metadata.max.json";

export type Channel = "email" | "sms" | "mail" | "ads";
export type ConsentInput = "subscribed" | "unsubscribed" | "never_asked";
export interface FieldError {
  field: string;
  message: string;
}
export type Normalized<T> = { ok: true; value: T } | { ok: false; error: FieldError };

export interface ContactInput {
  externalId?: string | null;
  email?: string | null;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  address?: {
    line1?: string | null;
    line2?: string | null;
    city?: string | null;
    region?: string | null;
    postalCode?: string | null;
    country?: string | null;
  } | null;
  timezone?: string | null;
  attributes?: Record<string, unknown> | null;
  consent?: Partial<Record<Channel, ConsentInput>> | null;
}

export interface NormalizedContact {
  externalId: string | null;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  addressLine1: string | null;
  addressLine2: string | null;
  city: string | null;
  region: string | null;
  postalCode: string | null;
  country: string | null;
  /** The explicit time zone when one was given, otherwise the one `defaultTimezone` picked. */
  timezone: string | null;
  attributes: Record<string, unknown>;
  consent: Partial<Record<Channel, ConsentInput>>;
}

export const CHANNELS: readonly Channel[] = ["email", "sms", "mail", "ads"];

export const MAX_NAME_LENGTH = 200;
export const MAX_EXTERNAL_ID_LENGTH = 255;

// ---------------------------------------------------------------------------------------------
// Shared helpers

function ok<T>(value: T): Normalized<T> {
  return { ok: true, value };
}

function fail<T>(field: string, message: string): Normalized<T> {
  return { ok: false, error: { field, message } };
}

/** Quotes user input for an error message without letting a 10 kB cell flood the message. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

const CACHE_LIMIT = 10_000;

/** Stores a result, starting over when full: simpler than an LRU and good enough for column values. */
function remember<K, V>(cache: Map<K, V>, key: K, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

const COMBINING_MARKS = /\p{M}+/gu;
const NOT_ALPHANUMERIC = /[^a-z0-9]+/g;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Lookup key for names typed by people: case, accents, spaces and punctuation don't matter,
 * and "&" reads as "and" ("Trinidad & Tobago", "St. Kitts & Nevis").
 */
function lookupKey(text: string): string {
  let key = text.toLowerCase();
  if (NON_ASCII.test(key)) key = key.normalize("NFD").replace(COMBINING_MARKS, "");
  if (key.includes("&")) key = key.replaceAll("&", "and");
  return key.replace(NOT_ALPHANUMERIC, "");
}

function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

// ---------------------------------------------------------------------------------------------
// Email

const EMAIL_LOCAL_CHARS = (() => {
  // RFC 5322 "atext" plus the dot; quoted local parts are deliberately not supported because
  // no mailbox provider hands them out and most sending services reject them.
  const allowed = new Uint8Array(128);
  for (const ch of "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~.") allowed[ch.charCodeAt(0)] = 1;
  return allowed;
})();

const WHITESPACE_OR_INVISIBLE = /[\s\p{Cc}\p{Cf}]/u;
const ASCII_NOT_ALLOWED_IN_DOMAIN = /[\x00-\x2c\x2f\x3a-\x60\x7b-\x7f]/;

/**
 * Trims, lower-cases and validates an address. International domain names are accepted and
 * stored in their Unicode form (punycode input is converted), so the two spellings of the same
 * mailbox dedupe to one value. The local part must be ASCII: SMTPUTF8 mailboxes are rare and
 * many sending services refuse them.
 */
export function normalizeEmail(raw: string): Normalized<string> {
  const trimmed = raw.trim();
  if (trimmed === "") return fail("email", "email address is empty");
  const value = trimmed.toLowerCase();

  const at = value.indexOf("@");
  if (at < 0) return invalidEmail(trimmed, 'it has no "@"');
  if (value.indexOf("@", at + 1) >= 0) return invalidEmail(trimmed, 'it has more than one "@"');
  if (at === 0) return invalidEmail(trimmed, 'nothing before the "@"');
  if (at === value.length - 1) return invalidEmail(trimmed, 'nothing after the "@"');
  if (at > 64) return invalidEmail(trimmed, 'the part before the "@" is longer than 64 characters');

  for (let i = 0; i < at; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128 || EMAIL_LOCAL_CHARS[code] !== 1) {
      const ch = value[i] ?? "";
      if (WHITESPACE_OR_INVISIBLE.test(ch)) {
        return invalidEmail(trimmed, "it contains a space or an invisible character");
      }
      if (code >= 128) {
        return invalidEmail(trimmed, 'only the domain (after the "@") may contain non-ASCII characters');
      }
      return invalidEmail(trimmed, `it contains ${JSON.stringify(ch)} before the "@"`);
    }
    if (code === 46 /* . */ && (i === 0 || i === at - 1 || value.charCodeAt(i - 1) === 46)) {
      return invalidEmail(trimmed, 'dots before the "@" must sit between other characters');
    }
  }

  const typedDomain = value.slice(at + 1);
  let domain = typedDomain;
  let asciiDomain = domain;
  if (NON_ASCII.test(domain)) {
    if (WHITESPACE_OR_INVISIBLE.test(domain)) {
      return invalidEmail(trimmed, "it contains a space or an invisible character");
    }
    // The URL host parser percent-decodes and maps some ASCII symbols, so those are refused
    // before it sees them: "bü%41cher.de" must not quietly become another domain.
    const symbol = ASCII_NOT_ALLOWED_IN_DOMAIN.exec(domain);
    if (symbol !== null) return invalidEmail(trimmed, `the domain contains ${JSON.stringify(symbol[0])}`);
    asciiDomain = domainToASCII(domain);
    if (asciiDomain === "") {
      return invalidEmail(trimmed, `${JSON.stringify(domain)} is not a valid domain name`);
    }
    domain = domainToUnicode(asciiDomain);
  } else if (domain.includes("xn--")) {
    // Punycode spelled out: store the Unicode form so both spellings give the same value.
    const unicode = domainToUnicode(domain);
    if (unicode === "" || domainToASCII(unicode) !== domain) {
      return invalidEmail(trimmed, `${JSON.stringify(domain)} is not a valid domain name`);
    }
    domain = unicode;
  }
  const domainProblem = checkAsciiDomain(asciiDomain);
  if (domainProblem !== undefined) return invalidEmail(trimmed, domainProblem);
  if (at + 1 + asciiDomain.length > 254) return invalidEmail(trimmed, "it is longer than 254 characters");
  return ok(domain === typedDomain ? value : `${value.slice(0, at)}@${domain}`);
}

function invalidEmail(email: string, reason: string): Normalized<string> {
  return fail("email", `${quote(email)} is not a valid email address: ${reason}`);
}

/** Checks an ASCII (punycode) host name label by label; returns the problem, if any. */
function checkAsciiDomain(domain: string): string | undefined {
  if (domain.length > 253) return "the domain is longer than 253 characters";
  let labelStart = 0;
  let labels = 0;
  for (let i = 0; i <= domain.length; i++) {
    const code = i < domain.length ? domain.charCodeAt(i) : 46;
    if (code === 46 /* . */) {
      const length = i - labelStart;
      if (length === 0) return "the domain has an empty part (two dots in a row, or a dot at either end)";
      if (length > 63) return "a part of the domain is longer than 63 characters";
      if (domain.charCodeAt(labelStart) === 45 || domain.charCodeAt(i - 1) === 45) {
        return "parts of the domain can't start or end with a hyphen";
      }
      labels++;
      labelStart = i + 1;
      continue;
    }
    const isLetter = code >= 97 && code <= 122;
    const isDigit = code >= 48 && code <= 57;
    if (!isLetter && !isDigit && code !== 45) {
      const ch = domain[i] ?? "";
      if (WHITESPACE_OR_INVISIBLE.test(ch)) return "it contains a space or an invisible character";
      return `the domain contains ${JSON.stringify(ch)}`;
    }
  }
  if (labels < 2) return 'the domain needs a dot, as in "example.com"';
  // Top-level domains are letters (or punycode); an all-digit one means an IP address or a typo.
  const tld = domain.slice(domain.lastIndexOf(".") + 1);
  if (tld.startsWith("xn--")) return undefined;
  if (tld.length < 2) return "the top-level domain is too short";
  for (let i = 0; i < tld.length; i++) {
    const code = tld.charCodeAt(i);
    if (code < 97 || code > 122) return "the top-level domain must be letters only";
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Phone
//
// libphonenumber-js spends most of a parse (about 20 µs) turning metadata pattern strings into a
// new RegExp on every call. The fast path below handles the common shapes (E.164, international
// with separators, plain national digits) by applying the same metadata rules with compiled,
// cached regular expressions. Where it follows the library's steps all the way it answers
// "valid" or "invalid" itself (invalid numbers are the library's slowest case, ~50 µs); anything
// unusual (extensions, letters, "00"/"011" prefixes, country codes typed without "+", national
// prefix rewrite rules, non-geographic numbers) goes to the library. normalize.test.ts checks
// that both paths agree on thousands of generated numbers.

interface LibNumberType {
  pattern(): string;
  possibleLengths(): number[] | undefined;
}

// Runtime methods of libphonenumber-js's Metadata that its type declarations leave out.
// FAST_PATH_AVAILABLE checks they exist, so a library upgrade that renames them only costs speed.
interface LibNumberingPlan {
  callingCode(): string;
  IDDPrefix(): string;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  leadingDigits(): string | undefined;
  hasTypes(): boolean;
  type(name: string): LibNumberType | undefined;
}

interface LibMetadata {
  numberingPlan: LibNumberingPlan | undefined;
  selectNumberingPlan(countryOrCallingCode: string): unknown;
  hasCallingCode(callingCode: string): boolean | undefined;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
}

interface PhonePlan {
  callingCode: string;
  idd: RegExp;
  nationalPattern: RegExp;
  possibleLengths: readonly number[] | undefined;
  nationalPrefix: RegExp | undefined;
  hasTransformRule: boolean;
  leadingDigits: RegExp | undefined;
  /** Undefined when the metadata has no per-type patterns for this plan. */
  types: { pattern: RegExp; lengths: readonly number[] | undefined }[] | undefined;
}

const PHONE_TYPES = [
  "FIXED_LINE",
  "MOBILE",
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
];

const phoneMetadata = new Metadata(maxMetadata) as unknown as LibMetadata;

const FAST_PATH_AVAILABLE = (() => {
  try {
    phoneMetadata.selectNumberingPlan("GB");
    const plan = phoneMetadata.numberingPlan;
    return (
      typeof phoneMetadata.hasCallingCode === "function" &&
      typeof phoneMetadata.getCountryCodesForCallingCode === "function" &&
      plan !== undefined &&
      ["callingCode", "IDDPrefix", "nationalNumberPattern", "possibleLengths", "nationalPrefixForParsing"]
        .concat(["nationalPrefixTransformRule", "leadingDigits", "hasTypes", "type"])
        .every((name) => typeof (plan as unknown as Record<string, unknown>)[name] === "function") &&
      typeof plan.nationalNumberPattern() === "string"
    );
  } catch {
    return false;
  }
})();

const phonePlans = new Map<string, PhonePlan>();
const callingCodeCountries = new Map<string, readonly string[] | null>();

function phonePlan(country: string): PhonePlan {
  const cached = phonePlans.get(country);
  if (cached) return cached;
  phoneMetadata.selectNumberingPlan(country);
  const plan = phoneMetadata.numberingPlan as LibNumberingPlan;
  const nationalPrefix = plan.nationalPrefixForParsing();
  const leadingDigits = plan.leadingDigits();
  let types: PhonePlan["types"];
  if (plan.hasTypes()) {
    types = [];
    for (const name of PHONE_TYPES) {
      const type = plan.type(name);
      const pattern = type?.pattern();
      if (type && pattern)
        types.push({ pattern: new RegExp(`^(?:${pattern})$`), lengths: type.possibleLengths() });
    }
  }
  const compiled: PhonePlan = {
    callingCode: plan.callingCode(),
    idd: new RegExp(`^(?:${plan.IDDPrefix()})`),
    nationalPattern: new RegExp(`^(?:${plan.nationalNumberPattern()})$`),
    possibleLengths: plan.possibleLengths(),
    nationalPrefix: nationalPrefix ? new RegExp(`^(?:${nationalPrefix})`) : undefined,
    hasTransformRule: Boolean(plan.nationalPrefixTransformRule()),
    leadingDigits: leadingDigits ? new RegExp(`^(?:${leadingDigits})`) : undefined,
    types,
  };
  phonePlans.set(country, compiled);
  return compiled;
}

/** Countries sharing a calling code, main one first; null for unknown or non-geographic codes. */
function countriesForCallingCode(callingCode: string): readonly string[] | null {
  let countries = callingCodeCountries.get(callingCode);
  if (countries === undefined) {
    countries = phoneMetadata.getCountryCodesForCallingCode(callingCode) ?? null;
    callingCodeCountries.set(callingCode, countries);
  }
  return countries;
}

function hasNumberType(plan: PhonePlan, nationalNumber: string): boolean {
  if (plan.types === undefined || !plan.nationalPattern.test(nationalNumber)) return false;
  for (const type of plan.types) {
    if (type.lengths !== undefined && !type.lengths.includes(nationalNumber.length)) continue;
    if (type.pattern.test(nationalNumber)) return true;
  }
  return false;
}

function isValidForPlan(plan: PhonePlan, nationalNumber: string): boolean {
  return plan.types === undefined
    ? plan.nationalPattern.test(nationalNumber)
    : hasNumberType(plan, nationalNumber);
}

// The last answer of countryForNationalNumber: national numbers that lose a prefix are looked up
// twice in a row, and the lookup runs the country's (long) type patterns.
let lastCallingCode = "";
let lastNationalNumber = "";
let lastCountry: string | undefined;
/** Whether lastCountry was chosen because the number matched one of its types, i.e. is valid there. */
let lastCountryMatchedType = false;

/** Which of the countries sharing a calling code a number belongs to (libphonenumber's rule). */
function countryForNationalNumber(callingCode: string, nationalNumber: string): string | undefined {
  if (callingCode === lastCallingCode && nationalNumber === lastNationalNumber) return lastCountry;
  lastCallingCode = callingCode;
  lastNationalNumber = nationalNumber;
  lastCountry = undefined;
  lastCountryMatchedType = false;
  const countries = countriesForCallingCode(callingCode);
  if (countries === null) return undefined;
  if (countries.length === 1) return (lastCountry = countries[0]);
  for (const country of countries) {
    const plan = phonePlan(country);
    if (plan.leadingDigits !== undefined) {
      if (plan.leadingDigits.test(nationalNumber)) return (lastCountry = country);
    } else if (hasNumberType(plan, nationalNumber)) {
      lastCountryMatchedType = true;
      return (lastCountry = country);
    }
  }
  return undefined;
}

/** Strips a national prefix the way libphonenumber does; undefined means "too clever for the fast path". */
function stripNationalPrefix(digits: string, plan: PhonePlan): string | undefined {
  if (plan.nationalPrefix === undefined) return digits;
  const match = plan.nationalPrefix.exec(digits);
  if (match === null) return digits;
  const lastGroup = match.length - 1;
  if (plan.hasTransformRule && lastGroup > 0 && match[lastGroup]) return undefined;
  const national = digits.slice(match[0].length);
  if (national === digits) return digits;
  if (plan.nationalPattern.test(digits) && !plan.nationalPattern.test(national)) return digits;
  if (plan.possibleLengths !== undefined) {
    const country = countryForNationalNumber(plan.callingCode, national);
    const lengths = country === undefined ? plan.possibleLengths : phonePlan(country).possibleLengths;
    if (lengths !== undefined && !isPossibleLength(national.length, lengths)) return digits;
  }
  return national;
}

/** Mirrors libphonenumber's checkNumberLength: only "too short" and "invalid length" reject. */
function isPossibleLength(length: number, lengths: readonly number[]): boolean {
  const shortest = lengths[0];
  if (shortest === undefined || shortest === length) return true;
  if (shortest > length) return false;
  if ((lengths[lengths.length - 1] ?? 0) < length) return true;
  return lengths.indexOf(length, 1) >= 0;
}

const PLAIN_PHONE = /^\+?\d{7,17}$/;
// Space - . ( ) /: separators the library also ignores.
const PHONE_SEPARATORS = new Set([32, 45, 46, 40, 41, 47]);

interface ParsedPhone {
  e164: string;
  country: string | undefined;
}

/** The number, null when it is certainly invalid, or undefined when the library must decide. */
function fastPhone(text: string, defaultCountry: CountryCode | undefined): ParsedPhone | null | undefined {
  if (!FAST_PATH_AVAILABLE || text.length > 250) return undefined;
  let digits: string;
  const international = text.charCodeAt(0) === 43; /* + */
  if (PLAIN_PHONE.test(text)) {
    digits = international ? text.slice(1) : text;
  } else {
    // Only separators the library also ignores; anything else (letters, "ext", "#") goes to it.
    digits = "";
    for (let i = international ? 1 : 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 48 && code <= 57) digits += text[i];
      else if (!PHONE_SEPARATORS.has(code)) return undefined;
    }
    if (digits.length < 7 || digits.length > 17) return undefined;
  }

  let plan: PhonePlan;
  let rest: string;
  let fallbackCountry: string | undefined;
  if (international) {
    if (digits.charCodeAt(0) === 48 /* 0 */) return null;
    let callingCode: string | undefined;
    for (let length = 1; length <= 3; length++) {
      const candidate = digits.slice(0, length);
      if (phoneMetadata.hasCallingCode(candidate)) {
        callingCode = candidate;
        break;
      }
    }
    if (callingCode === undefined) return null;
    const countries = countriesForCallingCode(callingCode);
    if (countries === null || countries[0] === undefined) return undefined;
    plan = phonePlan(countries[0]);
    rest = digits.slice(callingCode.length);
  } else {
    if (defaultCountry === undefined) return undefined;
    plan = phonePlan(defaultCountry);
    // International dialling prefixes and country codes typed without "+" take the library's
    // more involved route.
    if (plan.idd.test(digits) || digits.startsWith(plan.callingCode)) return undefined;
    rest = digits;
    fallbackCountry = defaultCountry;
  }

  const national = stripNationalPrefix(rest, plan);
  if (national === undefined) return undefined;
  if (national.length < 2 || national.length > 17) return null;
  const matched = countryForNationalNumber(plan.callingCode, national);
  const country = matched ?? fallbackCountry;
  if (country === undefined) {
    // The library then validates against the calling code's main plan; a pass there would be a
    // valid number without a country, which is odd enough to leave to the library.
    return isValidForPlan(plan, national) ? undefined : null;
  }
  // A country picked by its type patterns is valid by construction (hasNumberType is isValid when
  // a plan has types), so the patterns needn't run twice.
  const valid =
    (matched !== undefined && lastCountryMatchedType) || isValidForPlan(phonePlan(country), national);
  return valid ? { e164: `+${plan.callingCode}${national}`, country } : null;
}

function parsePhone(text: string, defaultCountry: CountryCode | undefined): ParsedPhone | undefined {
  const fast = fastPhone(text, defaultCountry);
  if (fast !== undefined) return fast ?? undefined;
  const parsed = parsePhoneNumberFromString(text, defaultCountry ? { defaultCountry } : undefined);
  // parse() hands back E.164-looking numbers for digits that can't exist, so isValid() is the check.
  if (parsed === undefined || !parsed.isValid()) return undefined;
  return { e164: parsed.number, country: parsed.country };
}

const supportedCountries = new Map<string, CountryCode | undefined>();

function phoneCountry(country: string): CountryCode | undefined {
  let code = supportedCountries.get(country);
  if (code === undefined && !supportedCountries.has(country)) {
    const upper = country.trim().toUpperCase();
    code = isSupportedCountry(upper) ? upper : undefined;
    remember(supportedCountries, country, code);
  }
  return code;
}

/**
 * Parses a phone number to E.164. National numbers are read as `defaultCountry` numbers;
 * "+44 ...", "0044 ..." and "00 33 ..." are international whatever the default. Extensions are
 * dropped. `country` is the number's country (undefined for non-geographic numbers such as +800).
 */
export function normalizePhone(
  raw: string,
  defaultCountry: string,
): Normalized<{ e164: string; country: string | undefined }> {
  const text = raw.trim();
  if (text === "") return fail("phone", "phone number is empty");
  const country = phoneCountry(defaultCountry);
  // "00" is the international prefix almost everywhere, but the library only knows that when the
  // default country uses it; a US workspace importing European numbers would otherwise lose them.
  const parsed =
    parsePhone(text, country) ??
    (text.startsWith("00") ? parsePhone(`+${text.slice(2)}`, country) : undefined);
  if (parsed !== undefined) return ok(parsed);
  const hint =
    text.startsWith("+") || text.startsWith("00") || country === undefined
      ? ""
      : ` for ${country}; numbers from other countries need the country code, as in "+44 20 7946 0958"`;
  return fail("phone", `${quote(text)} is not a valid phone number${hint}`);
}

// ---------------------------------------------------------------------------------------------
// Countries

// ISO 3166-1 alpha-3 to alpha-2. XK (Kosovo) isn't in ISO 3166-1 but is the code everyone,
// libphonenumber included, uses for it.
const ALPHA3 =
  "AFG AF ALA AX ALB AL DZA DZ ASM AS AND AD AGO AO AIA AI ATA AQ ATG AG ARG AR ARM AM ABW AW AUS AU " +
  "AUT AT AZE AZ BHS BS BHR BH BGD BD BRB BB BLR BY BEL BE BLZ BZ BEN BJ BMU BM BTN BT BOL BO BES BQ " +
  "BIH BA BWA BW BVT BV BRA BR IOT IO BRN BN BGR BG BFA BF BDI BI CPV CV KHM KH CMR CM CAN CA CYM KY " +
  "CAF CF TCD TD CHL CL CHN CN CXR CX CCK CC COL CO COM KM COG CG COD CD COK CK CRI CR CIV CI HRV HR " +
  "CUB CU CUW CW CYP CY CZE CZ DNK DK DJI DJ DMA DM DOM DO ECU EC EGY EG SLV SV GNQ GQ ERI ER EST EE " +
  "SWZ SZ ETH ET FLK FK FRO FO FJI FJ FIN FI FRA FR GUF GF PYF PF ATF TF GAB GA GMB GM GEO GE DEU DE " +
  "GHA GH GIB GI GRC GR GRL GL GRD GD GLP GP GUM GU GTM GT GGY GG GIN GN GNB GW GUY GY HTI HT HMD HM " +
  "VAT VA HND HN HKG HK HUN HU ISL IS IND IN IDN ID IRN IR IRQ IQ IRL IE IMN IM ISR IL ITA IT JAM JM " +
  "JPN JP JEY JE JOR JO KAZ KZ KEN KE KIR KI PRK KP KOR KR KWT KW KGZ KG LAO LA LVA LV LBN LB LSO LS " +
  "LBR LR LBY LY LIE LI LTU LT LUX LU MAC MO MDG MG MWI MW MYS MY MDV MV MLI ML MLT MT MHL MH MTQ MQ " +
  "MRT MR MUS MU MYT YT MEX MX FSM FM MDA MD MCO MC MNG MN MNE ME MSR MS MAR MA MOZ MZ MMR MM NAM NA " +
  "NRU NR NPL NP NLD NL NCL NC NZL NZ NIC NI NER NE NGA NG NIU NU NFK NF MKD MK MNP MP NOR NO OMN OM " +
  "PAK PK PLW PW PSE PS PAN PA PNG PG PRY PY PER PE PHL PH PCN PN POL PL PRT PT PRI PR QAT QA REU RE " +
  "ROU RO RUS RU RWA RW BLM BL SHN SH KNA KN LCA LC MAF MF SPM PM VCT VC WSM WS SMR SM STP ST SAU SA " +
  "SEN SN SRB RS SYC SC SLE SL SGP SG SXM SX SVK SK SVN SI SLB SB SOM SO ZAF ZA SGS GS SSD SS ESP ES " +
  "LKA LK SDN SD SUR SR SJM SJ SWE SE CHE CH SYR SY TWN TW TJK TJ TZA TZ THA TH TLS TL TGO TG TKL TK " +
  "TON TO TTO TT TUN TN TUR TR TKM TM TCA TC TUV TV UGA UG UKR UA ARE AE GBR GB USA US UMI UM URY UY " +
  "UZB UZ VUT VU VEN VE VNM VN VGB VG VIR VI WLF WF ESH EH YEM YE ZMB ZM ZWE ZW XKX XK";

// Names people actually type that neither the library's nor Intl's English names cover.
const COUNTRY_ALIASES: Record<string, string> = {
  us: "US",
  usa: "US",
  america: "US",
  unitedstates: "US",
  unitedstatesofamerica: "US",
  theus: "US",
  uk: "GB",
  greatbritain: "GB",
  britain: "GB",
  england: "GB",
  scotland: "GB",
  wales: "GB",
  northernireland: "GB",
  unitedkingdomofgreatbritainandnorthernireland: "GB",
  deutschland: "DE",
  bundesrepublikdeutschland: "DE",
  holland: "NL",
  nederland: "NL",
  espana: "ES",
  italia: "IT",
  brasil: "BR",
  schweiz: "CH",
  suisse: "CH",
  svizzera: "CH",
  osterreich: "AT",
  sverige: "SE",
  norge: "NO",
  danmark: "DK",
  suomi: "FI",
  polska: "PL",
  belgique: "BE",
  belgie: "BE",
  eire: "IE",
  nippon: "JP",
  nihon: "JP",
  hellas: "GR",
  magyarorszag: "HU",
  cesko: "CZ",
  ceskarepublika: "CZ",
  czechrepublic: "CZ",
  hrvatska: "HR",
  turkey: "TR",
  russianfederation: "RU",
  korea: "KR",
  republicofkorea: "KR",
  korearepublicof: "KR",
  dprk: "KP",
  koreademocraticpeoplesrepublicof: "KP",
  uae: "AE",
  emirates: "AE",
  ksa: "SA",
  rsa: "ZA",
  prc: "CN",
  peoplesrepublicofchina: "CN",
  mainlandchina: "CN",
  iranislamicrepublicof: "IR",
  syrianarabrepublic: "SY",
  laopdr: "LA",
  laopeoplesdemocraticrepublic: "LA",
  bruneidarussalam: "BN",
  capeverde: "CV",
  swaziland: "SZ",
  macedonia: "MK",
  burma: "MM",
  easttimor: "TL",
  vatican: "VA",
  palestinianterritories: "PS",
  stateofpalestine: "PS",
  palestinestateof: "PS",
  federatedstatesofmicronesia: "FM",
  micronesiafederatedstatesof: "FM",
  republicofmoldova: "MD",
  moldovarepublicof: "MD",
  unitedrepublicoftanzania: "TZ",
  tanzaniaunitedrepublicof: "TZ",
  venezuelabolivarianrepublicof: "VE",
  boliviaplurinationalstateof: "BO",
  congo: "CG",
  drc: "CD",
  drcongo: "CD",
  congothedemocraticrepublicofthe: "CD",
  democraticrepublicofcongo: "CD",
  macau: "MO",
  taiwanprovinceofchina: "TW",
  bvi: "VG",
  usvi: "VI",
  virginislandsbritish: "VG",
  virginislandsus: "VI",
  kosovo: "XK",
  vietnam: "VN",
  vietnamsocialistrepublicof: "VN",
};

let countryIndex: Map<string, string> | undefined;

function buildCountryIndex(): Map<string, string> {
  const index = new Map<string, string>();
  const add = (name: string, code: string) => {
    const key = lookupKey(name);
    if (key === "" || index.has(key)) return;
    index.set(key, code);
    // "Saint Lucia" / "St Lucia" / "St. Lucia".
    const variant = key.startsWith("saint")
      ? `st${key.slice(5)}`
      : key.startsWith("st")
        ? `saint${key.slice(2)}`
        : "";
    if (variant !== "" && !index.has(variant)) index.set(variant, code);
  };
  const codes: string[] = [];
  const pairs = ALPHA3.split(" ");
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const alpha2 = pairs[i + 1] as string;
    codes.push(alpha2);
    index.set(alpha2.toLowerCase(), alpha2);
    index.set((pairs[i] as string).toLowerCase(), alpha2);
  }
  for (const [key, code] of Object.entries(COUNTRY_ALIASES)) index.set(key, code);
  const libraryNames = getAllCountries() as Record<string, { name: string } | undefined>;
  const displayNames = new Intl.DisplayNames(["en"], { type: "region" });
  for (const code of codes) {
    const libraryName = libraryNames[code]?.name;
    if (libraryName) add(libraryName, code);
    const displayName = displayNames.of(code);
    if (displayName && displayName !== code) {
      add(displayName, code);
      // "Myanmar (Burma)", "Hong Kong SAR China": also the part before the qualifier.
      const shorter = displayName.replace(/ \(.*\)$| SAR China$/, "");
      if (shorter !== displayName) add(shorter, code);
    }
  }
  return index;
}

const countryCache = new Map<string, Normalized<string>>();

/** Turns an ISO alpha-2 or alpha-3 code, an English name or a common alias into ISO alpha-2. */
export function normalizeCountry(raw: string): Normalized<string> {
  const cached = countryCache.get(raw);
  if (cached !== undefined) return cached;
  countryIndex ??= buildCountryIndex();
  const key = lookupKey(raw);
  let code = countryIndex.get(key);
  if (code === undefined && key.startsWith("the")) code = countryIndex.get(key.slice(3));
  const result: Normalized<string> =
    code !== undefined
      ? ok(code)
      : raw.trim() === ""
        ? fail("address.country", "country is empty")
        : fail(
            "address.country",
            `${quote(raw.trim())} is not a country we recognise; use an ISO code such as "US" or "GB", or the English name`,
          );
  return remember(countryCache, raw, result);
}

function countryCode(raw: string | null | undefined): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const result = normalizeCountry(raw);
  return result.ok ? result.value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Time zones

const UTC_NAMES = new Set(
  [
    "utc",
    "etc/utc",
    "uct",
    "etc/uct",
    "universal",
    "etc/universal",
    "zulu",
    "etc/zulu",
    "gmt",
    "etc/gmt",
  ].concat(["gmt0", "gmt+0", "gmt-0", "etc/gmt0", "etc/gmt+0", "etc/gmt-0", "greenwich", "etc/greenwich"]),
);

// Abbreviations are ambiguous (IST is India, Ireland or Israel) and say nothing about daylight
// saving rules. Some of them (EST, MST, HST, CET...) are technically IANA names, but fixed-offset
// or rule-only ones that don't match what people who type them mean.
const ABBREVIATIONS: Record<string, string> = {
  EST: '"America/New_York"',
  EDT: '"America/New_York"',
  ET: '"America/New_York"',
  EST5EDT: '"America/New_York"',
  CST: '"America/Chicago"',
  CDT: '"America/Chicago"',
  CT: '"America/Chicago"',
  CST6CDT: '"America/Chicago"',
  MST: '"America/Denver" (or "America/Phoenix" for Arizona)',
  MDT: '"America/Denver"',
  MT: '"America/Denver"',
  MST7MDT: '"America/Denver"',
  PST: '"America/Los_Angeles"',
  PDT: '"America/Los_Angeles"',
  PT: '"America/Los_Angeles"',
  PST8PDT: '"America/Los_Angeles"',
  AKST: '"America/Anchorage"',
  AKDT: '"America/Anchorage"',
  HST: '"Pacific/Honolulu"',
  AST: '"America/Halifax"',
  ADT: '"America/Halifax"',
  NST: '"America/St_Johns"',
  BST: '"Europe/London"',
  WET: '"Europe/Lisbon"',
  WEST: '"Europe/Lisbon"',
  CET: '"Europe/Paris" or "Europe/Berlin"',
  CEST: '"Europe/Paris" or "Europe/Berlin"',
  MET: '"Europe/Paris"',
  EET: '"Europe/Athens"',
  EEST: '"Europe/Athens"',
  MSK: '"Europe/Moscow"',
  IST: '"Asia/Kolkata" (India), "Europe/Dublin" (Ireland) or "Asia/Jerusalem" (Israel)',
  PKT: '"Asia/Karachi"',
  SGT: '"Asia/Singapore"',
  HKT: '"Asia/Hong_Kong"',
  JST: '"Asia/Tokyo"',
  KST: '"Asia/Seoul"',
  AEST: '"Australia/Sydney"',
  AEDT: '"Australia/Sydney"',
  ACST: '"Australia/Adelaide"',
  ACDT: '"Australia/Adelaide"',
  AWST: '"Australia/Perth"',
  NZST: '"Pacific/Auckland"',
  NZDT: '"Pacific/Auckland"',
  BRT: '"America/Sao_Paulo"',
  ART: '"America/Argentina/Buenos_Aires"',
  SAST: '"Africa/Johannesburg"',
  WAT: '"Africa/Lagos"',
  CAT: '"Africa/Maputo"',
  EAT: '"Africa/Nairobi"',
};

const UTC_OFFSET = /^(?:utc|gmt)?\s*[+\-\u2212]\s*\d{1,2}(?:[:.h]?\d{2})?$/i;
const ETC_OFFSET = /^etc\/gmt[+-]\d{1,2}$/i;

let zoneIndex: Map<string, string> | undefined;
let zoneCityIndex: Map<string, string> | undefined;

function zoneKey(name: string): string {
  return name.toLowerCase().replaceAll(" ", "_");
}

/**
 * Every name the runtime or the countries-and-timezones data knows, keyed by lower case.
 * Renamed zones and legacy spellings resolve to the current name ("Asia/Calcutta" ->
 * "Asia/Kolkata", "US/Eastern" -> "America/New_York"). Zones tzdb merged across borders keep the
 * name given: "Europe/Amsterdam" is a link to "Europe/Brussels" only because the two have agreed
 * since 1970, and a Dutch contact filed under Brussels would puzzle people (and be wrong if the
 * Netherlands ever changed its rules).
 */
function buildZoneIndex(): Map<string, string> {
  const index = new Map<string, string>();
  const all = getAllTimezones({ deprecated: true }) as Record<
    string,
    { aliasOf?: string | null; countries: string[] } | undefined
  >;
  const names = new Set(Object.keys(all).concat(Intl.supportedValuesOf("timeZone")));
  for (const name of names) {
    let canonical = name;
    const zone = all[name];
    const target = zone?.aliasOf ? all[zone.aliasOf] : undefined;
    if (zone?.aliasOf && target) {
      if (zone.countries.length === 0 || zone.countries[0] === target.countries[0]) {
        canonical = zone.aliasOf;
      } else if (!name.includes("/")) {
        // "Iceland": a legacy name for a zone merged abroad; the country's Area/City name reads better.
        const country = zone.countries[0];
        const own = Object.keys(all).find(
          (other) =>
            other.includes("/") &&
            all[other]?.aliasOf === zone.aliasOf &&
            all[other]?.countries[0] === country,
        );
        if (own !== undefined) canonical = own;
      }
    }
    index.set(zoneKey(name), canonical);
  }
  return index;
}

function cityIndex(): Map<string, string> {
  if (zoneCityIndex) return zoneCityIndex;
  zoneCityIndex = new Map();
  for (const canonical of (zoneIndex ??= buildZoneIndex()).values()) {
    const city = zoneKey(canonical.slice(canonical.lastIndexOf("/") + 1));
    if (!zoneCityIndex.has(city) && canonical.includes("/")) zoneCityIndex.set(city, canonical);
  }
  return zoneCityIndex;
}

const runtimeZones = new Map<string, boolean>();

/** Whether Intl (and so the scheduler, which uses it) can work with a zone. */
function isRuntimeZone(name: string): boolean {
  let supported = runtimeZones.get(name);
  if (supported === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: name });
      supported = true;
    } catch {
      supported = false;
    }
    runtimeZones.set(name, supported);
  }
  return supported;
}

const timezoneCache = new Map<string, Normalized<string>>();

/**
 * Validates an IANA time zone name and returns it with canonical casing
 * ("europe/london" -> "Europe/London"; spaces may stand in for underscores). The UTC family
 * ("UTC", "Etc/UTC", "GMT", "Zulu"...) all become "UTC". Offsets ("+02:00", "Etc/GMT-2") and
 * abbreviations ("EST") are rejected with a suggestion, because they don't follow daylight saving.
 */
export function normalizeTimezone(raw: string): Normalized<string> {
  const cached = timezoneCache.get(raw);
  if (cached !== undefined) return cached;
  return remember(timezoneCache, raw, resolveTimezone(raw.trim()));
}

function resolveTimezone(text: string): Normalized<string> {
  if (text === "") return fail("timezone", "time zone is empty");
  const key = zoneKey(text);
  if (UTC_NAMES.has(key)) return ok("UTC");
  const upper = text.toUpperCase();
  const abbreviation = Object.hasOwn(ABBREVIATIONS, upper) ? ABBREVIATIONS[upper] : undefined;
  if (abbreviation !== undefined) {
    return fail(
      "timezone",
      `${quote(text)} is an abbreviation, not a time zone name; use an IANA name such as ${abbreviation}`,
    );
  }
  if (UTC_OFFSET.test(text) || ETC_OFFSET.test(text)) {
    if (!/[1-9]/.test(text)) return ok("UTC");
    return fail(
      "timezone",
      `${quote(text)} is a fixed UTC offset, which doesn't follow daylight saving; use an IANA name such as "Europe/Berlin" or "America/New_York"`,
    );
  }
  const canonical = (zoneIndex ??= buildZoneIndex()).get(key);
  if (canonical !== undefined && isRuntimeZone(canonical)) return ok(canonical);
  return fail("timezone", `${quote(text)} is not a known time zone; ${timezoneSuggestion(text)}`);
}

function timezoneSuggestion(text: string): string {
  const city = cityIndex().get(zoneKey(text.slice(text.lastIndexOf("/") + 1)));
  if (city !== undefined) return `did you mean "${city}"?`;
  const country = countryCode(text);
  const zone = country === undefined ? undefined : countryZone(country);
  if (zone !== undefined) return `for a contact in ${country} use "${zone}"`;
  return 'use an IANA name such as "Europe/London" or "America/New_York"';
}

// ---------------------------------------------------------------------------------------------
// Default time zone

// Regions (states, provinces) and the zone most of their population lives in. Regions split
// roughly evenly between zones are left out so the workspace default applies instead:
// Nunavut, Chihuahua, Tamaulipas, Sakha. Each entry: code|zone|names...
const REGION_ZONES: Record<string, string> = {
  US: `AL|America/Chicago|Alabama|Ala
AK|America/Anchorage|Alaska
AZ|America/Phoenix|Arizona|Ariz
AR|America/Chicago|Arkansas|Ark
CA|America/Los_Angeles|California|Calif|Cal
CO|America/Denver|Colorado|Colo
CT|America/New_York|Connecticut|Conn
DE|America/New_York|Delaware|Del
DC|America/New_York|District of Columbia|Washington DC|Washington D.C.
FL|America/New_York|Florida|Fla
GA|America/New_York|Georgia
HI|Pacific/Honolulu|Hawaii
ID|America/Boise|Idaho
IL|America/Chicago|Illinois|Ill
IN|America/Indiana/Indianapolis|Indiana|Ind
IA|America/Chicago|Iowa
KS|America/Chicago|Kansas|Kan|Kans
KY|America/New_York|Kentucky
LA|America/Chicago|Louisiana
ME|America/New_York|Maine
MD|America/New_York|Maryland
MA|America/New_York|Massachusetts|Mass
MI|America/Detroit|Michigan|Mich
MN|America/Chicago|Minnesota|Minn
MS|America/Chicago|Mississippi|Miss
MO|America/Chicago|Missouri
MT|America/Denver|Montana|Mont
NE|America/Chicago|Nebraska|Neb|Nebr
NV|America/Los_Angeles|Nevada|Nev
NH|America/New_York|New Hampshire
NJ|America/New_York|New Jersey
NM|America/Denver|New Mexico
NY|America/New_York|New York
NC|America/New_York|North Carolina
ND|America/Chicago|North Dakota
OH|America/New_York|Ohio
OK|America/Chicago|Oklahoma|Okla
OR|America/Los_Angeles|Oregon|Ore
PA|America/New_York|Pennsylvania|Penn
RI|America/New_York|Rhode Island
SC|America/New_York|South Carolina
SD|America/Chicago|South Dakota
TN|America/Chicago|Tennessee|Tenn
TX|America/Chicago|Texas|Tex
UT|America/Denver|Utah
VT|America/New_York|Vermont
VA|America/New_York|Virginia
WA|America/Los_Angeles|Washington|Wash|Washington State
WV|America/New_York|West Virginia|W Va
WI|America/Chicago|Wisconsin|Wis
WY|America/Denver|Wyoming|Wyo
PR|America/Puerto_Rico|Puerto Rico
VI|America/St_Thomas|Virgin Islands|US Virgin Islands
GU|Pacific/Guam|Guam
AS|Pacific/Pago_Pago|American Samoa
MP|Pacific/Saipan|Northern Mariana Islands`,
  CA: `AB|America/Edmonton|Alberta
BC|America/Vancouver|British Columbia|Colombie-Britannique
MB|America/Winnipeg|Manitoba
NB|America/Moncton|New Brunswick|Nouveau-Brunswick
NL|America/St_Johns|Newfoundland and Labrador|Newfoundland|Terre-Neuve-et-Labrador|NF
NS|America/Halifax|Nova Scotia|Nouvelle-Ecosse
NT|America/Edmonton|Northwest Territories|Territoires du Nord-Ouest
ON|America/Toronto|Ontario
PE|America/Halifax|Prince Edward Island|PEI|Ile-du-Prince-Edouard
QC|America/Toronto|Quebec|PQ
SK|America/Regina|Saskatchewan
YT|America/Whitehorse|Yukon|Yukon Territory`,
  AU: `NSW|Australia/Sydney|New South Wales
VIC|Australia/Melbourne|Victoria
QLD|Australia/Brisbane|Queensland
SA|Australia/Adelaide|South Australia
WA|Australia/Perth|Western Australia
TAS|Australia/Hobart|Tasmania
NT|Australia/Darwin|Northern Territory
ACT|Australia/Sydney|Australian Capital Territory
JBT|Australia/Sydney|Jervis Bay Territory`,
  BR: `AC|America/Rio_Branco|Acre
AL|America/Maceio|Alagoas
AP|America/Belem|Amapa
AM|America/Manaus|Amazonas
BA|America/Bahia|Bahia
CE|America/Fortaleza|Ceara
DF|America/Sao_Paulo|Distrito Federal|Brasilia
ES|America/Sao_Paulo|Espirito Santo
GO|America/Sao_Paulo|Goias
MA|America/Fortaleza|Maranhao
MT|America/Cuiaba|Mato Grosso
MS|America/Campo_Grande|Mato Grosso do Sul
MG|America/Sao_Paulo|Minas Gerais
PA|America/Belem|Para
PB|America/Fortaleza|Paraiba
PR|America/Sao_Paulo|Parana
PE|America/Recife|Pernambuco
PI|America/Fortaleza|Piaui
RJ|America/Sao_Paulo|Rio de Janeiro
RN|America/Fortaleza|Rio Grande do Norte
RS|America/Sao_Paulo|Rio Grande do Sul
RO|America/Porto_Velho|Rondonia
RR|America/Boa_Vista|Roraima
SC|America/Sao_Paulo|Santa Catarina
SP|America/Sao_Paulo|Sao Paulo
SE|America/Maceio|Sergipe
TO|America/Araguaina|Tocantins`,
  MX: `AGU|America/Mexico_City|Aguascalientes|AGS
BCN|America/Tijuana|Baja California|BC
BCS|America/Mazatlan|Baja California Sur
CAM|America/Merida|Campeche
CHP|America/Mexico_City|Chiapas
CMX|America/Mexico_City|Ciudad de Mexico|Mexico City|CDMX|DF|Distrito Federal
COA|America/Monterrey|Coahuila|Coahuila de Zaragoza
COL|America/Mexico_City|Colima
DUR|America/Monterrey|Durango
GUA|America/Mexico_City|Guanajuato
GRO|America/Mexico_City|Guerrero
HID|America/Mexico_City|Hidalgo
JAL|America/Mexico_City|Jalisco
MEX|America/Mexico_City|Estado de Mexico|Mexico State|State of Mexico
MIC|America/Mexico_City|Michoacan|Michoacan de Ocampo
MOR|America/Mexico_City|Morelos
NAY|America/Mazatlan|Nayarit
NLE|America/Monterrey|Nuevo Leon|NL
OAX|America/Mexico_City|Oaxaca
PUE|America/Mexico_City|Puebla
QUE|America/Mexico_City|Queretaro|Queretaro de Arteaga
ROO|America/Cancun|Quintana Roo|QR
SLP|America/Mexico_City|San Luis Potosi
SIN|America/Mazatlan|Sinaloa
SON|America/Hermosillo|Sonora
TAB|America/Mexico_City|Tabasco
TLA|America/Mexico_City|Tlaxcala
VER|America/Mexico_City|Veracruz|Veracruz de Ignacio de la Llave
YUC|America/Merida|Yucatan
ZAC|America/Mexico_City|Zacatecas`,
  RU: `MOW|Europe/Moscow|Moscow|Moskva
MOS|Europe/Moscow|Moscow Oblast|Moskovskaya
SPE|Europe/Moscow|Saint Petersburg|St Petersburg|Sankt-Peterburg
LEN|Europe/Moscow|Leningrad|Leningradskaya
KGD|Europe/Kaliningrad|Kaliningrad
TA|Europe/Moscow|Tatarstan
NIZ|Europe/Moscow|Nizhny Novgorod
KDA|Europe/Moscow|Krasnodar
ROS|Europe/Moscow|Rostov
VOR|Europe/Moscow|Voronezh
VGG|Europe/Volgograd|Volgograd
SAR|Europe/Saratov|Saratov
ULY|Europe/Ulyanovsk|Ulyanovsk
AST|Europe/Astrakhan|Astrakhan
KIR|Europe/Kirov|Kirov
SAM|Europe/Samara|Samara
UD|Europe/Samara|Udmurtia
SVE|Asia/Yekaterinburg|Sverdlovsk
CHE|Asia/Yekaterinburg|Chelyabinsk
BA|Asia/Yekaterinburg|Bashkortostan
PER|Asia/Yekaterinburg|Perm
TYU|Asia/Yekaterinburg|Tyumen
ORE|Asia/Yekaterinburg|Orenburg
OMS|Asia/Omsk|Omsk
NVS|Asia/Novosibirsk|Novosibirsk
TOM|Asia/Tomsk|Tomsk
KEM|Asia/Novokuznetsk|Kemerovo
ALT|Asia/Barnaul|Altai Krai
KYA|Asia/Krasnoyarsk|Krasnoyarsk
IRK|Asia/Irkutsk|Irkutsk
BU|Asia/Irkutsk|Buryatia
ZAB|Asia/Chita|Zabaykalsky
AMU|Asia/Yakutsk|Amur
PRI|Asia/Vladivostok|Primorsky|Primorye
KHA|Asia/Vladivostok|Khabarovsk
SAK|Asia/Sakhalin|Sakhalin
MAG|Asia/Magadan|Magadan
KAM|Asia/Kamchatka|Kamchatka
CHU|Asia/Anadyr|Chukotka`,
};

// Words people add around region names: "State of New York", "Moscow Oblast", "Yukon Territory".
const REGION_NOISE = /^(?:stateof|republicof)|(?:state|province|oblast|krai|kray|region|republic|territory)$/;

// Countries whose zones differ only for a small share of the population (Chatham Islands,
// Canaries, Azores, Galápagos...), or whose zones now share one offset (Kazakhstan since 2024).
const PREDOMINANT_ZONES: Record<string, string> = {
  AR: "America/Argentina/Buenos_Aires",
  CL: "America/Santiago",
  CN: "Asia/Shanghai",
  CY: "Asia/Nicosia",
  EC: "America/Guayaquil",
  ES: "Europe/Madrid",
  GL: "America/Nuuk",
  KZ: "Asia/Almaty",
  MN: "Asia/Ulaanbaatar",
  MY: "Asia/Kuala_Lumpur",
  NZ: "Pacific/Auckland",
  PG: "Pacific/Port_Moresby",
  PT: "Europe/Lisbon",
  UZ: "Asia/Tashkent",
};

let regionIndex: Map<string, Map<string, string>> | undefined;
const regionCache = new Map<string, string | null>();

function buildRegionIndex(): Map<string, Map<string, string>> {
  const index = new Map<string, Map<string, string>>();
  for (const [country, table] of Object.entries(REGION_ZONES)) {
    const regions = new Map<string, string>();
    for (const line of table.split("\n")) {
      const [code, zone, ...names] = line.split("|");
      if (code === undefined || zone === undefined) continue;
      regions.set(lookupKey(code), zone);
      for (const name of names) regions.set(lookupKey(name), zone);
    }
    index.set(country, regions);
  }
  return index;
}

function regionZone(country: string, region: string): string | undefined {
  const regions = (regionIndex ??= buildRegionIndex()).get(country);
  if (regions === undefined) return undefined;
  const cacheKey = `${country}:${region}`;
  let zone = regionCache.get(cacheKey);
  if (zone === undefined)
    zone = remember(regionCache, cacheKey, findRegionZone(country, regions, region) ?? null);
  return zone ?? undefined;
}

function findRegionZone(country: string, regions: Map<string, string>, region: string): string | undefined {
  const key = lookupKey(region);
  const zone = regions.get(key);
  if (zone !== undefined) return zone;
  // "US-CA", "AU-NSW": ISO 3166-2 codes carry the country in front.
  const countryPrefix = country.toLowerCase();
  if (key.startsWith(countryPrefix)) {
    const prefixed = regions.get(key.slice(countryPrefix.length));
    if (prefixed !== undefined) return prefixed;
  }
  const stripped = key.replace(REGION_NOISE, "");
  return stripped !== key && stripped !== "" ? regions.get(stripped) : undefined;
}

const CANADIAN_POSTAL_ZONES: Record<string, string> = {
  A: "America/St_Johns",
  B: "America/Halifax",
  C: "America/Halifax",
  E: "America/Moncton",
  G: "America/Toronto",
  H: "America/Toronto",
  J: "America/Toronto",
  K: "America/Toronto",
  L: "America/Toronto",
  M: "America/Toronto",
  N: "America/Toronto",
  P: "America/Toronto",
  R: "America/Winnipeg",
  S: "America/Regina",
  T: "America/Edmonton",
  V: "America/Vancouver",
  Y: "America/Whitehorse",
};

/**
 * Canadian postal codes start with a province letter and Australian postcodes map to states by
 * range, so both settle the zone when the region column is missing. (X covers both Nunavut and
 * the Northwest Territories, which span zones.) US ZIP codes are left alone: ZIP prefixes don't
 * follow the zone lines that cut through Tennessee, Kentucky, Indiana, Florida and others.
 */
function postalZone(country: string, postalCode: string): string | undefined {
  const code = postalCode.trim().toUpperCase();
  if (country === "CA") return CANADIAN_POSTAL_ZONES[code.charAt(0)];
  if (country === "AU" && /^\d{4}$/.test(code)) {
    const n = Number(code);
    if (n === 2880) return "Australia/Broken_Hill";
    if (n === 2898) return "Australia/Lord_Howe";
    if (n >= 800 && n <= 999) return "Australia/Darwin";
    if ((n >= 200 && n <= 299) || (n >= 1000 && n <= 2999)) return "Australia/Sydney";
    if ((n >= 3000 && n <= 3999) || (n >= 8000 && n <= 8999)) return "Australia/Melbourne";
    if ((n >= 4000 && n <= 4999) || (n >= 9000 && n <= 9999)) return "Australia/Brisbane";
    if (n >= 5000 && n <= 5999) return "Australia/Adelaide";
    if (n >= 6000 && n <= 6999) return n === 6443 ? "Australia/Eucla" : "Australia/Perth";
    if (n >= 7000 && n <= 7999) return "Australia/Hobart";
  }
  return undefined;
}

const countryZones = new Map<string, string | null>();

/**
 * The zone of a country with one main zone. "Main" ignores deprecated links and zones that only
 * reach in from a neighbour (Germany's Büsingen follows Europe/Zurich). Where tzdb merged a
 * country's zone into a neighbour's, the country's own name for it is returned ("Europe/Stockholm"
 * rather than "Europe/Berlin"): the rules are identical and it is what people expect to see.
 */
function countryZone(country: string): string | undefined {
  let zone = countryZones.get(country);
  if (zone === undefined) {
    zone = findCountryZone(country) ?? null;
    if (zone !== null && !isRuntimeZone(zone)) zone = null;
    countryZones.set(country, zone);
  }
  return zone ?? undefined;
}

function findCountryZone(country: string): string | undefined {
  const predominant = PREDOMINANT_ZONES[country];
  if (predominant !== undefined) return predominant;
  const zones = getCountry(country)?.timezones;
  if (zones === undefined || zones.length === 0) return undefined;
  const main =
    zones.length === 1 ? zones : zones.filter((zone) => getTimezone(zone)?.countries[0] === country);
  const zone = main.length === 1 ? main[0] : undefined;
  if (zone === undefined || getTimezone(zone)?.countries[0] === country) return zone;
  const own = getCountry(country, { deprecated: true })?.timezones.find((name) => {
    const link = getTimezone(name);
    return name.includes("/") && link?.aliasOf === zone && link.countries[0] === country;
  });
  return own ?? zone;
}

/**
 * Picks a time zone for a contact without one: the region's zone (US, CA, AU, BR, MX, RU), then
 * the postal code's (CA, AU), then the country's when it has one main zone, else the workspace
 * default. The address country wins over the phone's; inputs may be codes or names.
 */
export function defaultTimezone(
  input: {
    country?: string | undefined;
    region?: string | undefined;
    phoneCountry?: string | undefined;
    postalCode?: string | undefined;
  },
  workspaceDefault: string,
): string {
  const country = countryCode(input.country) ?? countryCode(input.phoneCountry);
  if (country === undefined) return workspaceDefault;
  if (input.region) {
    const zone = regionZone(country, input.region);
    if (zone !== undefined) return zone;
  }
  if (input.postalCode) {
    const zone = postalZone(country, input.postalCode);
    if (zone !== undefined) return zone;
  }
  return countryZone(country) ?? workspaceDefault;
}

// ---------------------------------------------------------------------------------------------
// Consent and attribute values

const CONSENT_VALUES: Record<string, ConsentInput> = {
  yes: "subscribed",
  y: "subscribed",
  true: "subscribed",
  1: "subscribed",
  x: "subscribed",
  subscribed: "subscribed",
  optedin: "subscribed",
  optin: "subscribed",
  no: "unsubscribed",
  n: "unsubscribed",
  false: "unsubscribed",
  0: "unsubscribed",
  unsubscribed: "unsubscribed",
  optedout: "unsubscribed",
  optout: "unsubscribed",
  neverasked: "never_asked",
};

const CONSENT_SEPARATORS = /[\s_-]+/g;

/**
 * Reads a consent cell: yes/no, true/false, 1/0, "x" (a ticked box), subscribed/unsubscribed,
 * opted in/out. Empty means "not given" (undefined). Pass the channel for a precise error field.
 */
export function parseConsent(raw: string, channel?: Channel): Normalized<ConsentInput | undefined> {
  const text = raw.trim();
  if (text === "") return ok(undefined);
  const key = text.toLowerCase().replace(CONSENT_SEPARATORS, "");
  const value = Object.hasOwn(CONSENT_VALUES, key) ? CONSENT_VALUES[key] : undefined;
  if (value !== undefined) return ok(value);
  const field = channel ? `consent.${channel}` : "consent";
  if (key === "bounced" || key === "complained") {
    return fail(
      field,
      `${quote(text)} is recorded by the system from delivery reports and can't be imported`,
    );
  }
  return fail(
    field,
    `${quote(text)} is not a consent value; use yes or no (or true/false, subscribed/unsubscribed), or leave it empty`,
  );
}

const CANONICAL_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/**
 * Types a CSV cell for the attributes object. Only numbers that survive a round trip become
 * numbers: "02134" (a ZIP code), "1e5", "+1" and anything beyond 15 significant digits (IDs,
 * card-like numbers a double can't hold) stay strings. Cells are trimmed; empty means null.
 */
export function inferAttributeValue(raw: string): string | number | boolean | null {
  const text = raw.trim();
  if (text === "") return null;
  if (text.length === 4 || text.length === 5) {
    const lower = text.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
  }
  if (text.length > 40 || !CANONICAL_NUMBER.test(text)) return text;
  const value = Number(text);
  if (value === 0 && text.charCodeAt(0) === 45) return text; // "-0" would come back as 0
  return significantDigits(text) <= 15 ? value : text;
}

function significantDigits(text: string): number {
  let count = 0;
  let leading = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) continue;
    if (leading && code === 48) continue;
    leading = false;
    count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Attribute keys

export const ATTRIBUTE_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const validAttributeKeys = new Set<string>();

export function isValidAttributeKey(key: string): boolean {
  // The same few keys come back on every row of an import; a Set lookup beats the regex.
  if (validAttributeKeys.has(key)) return true;
  if (!ATTRIBUTE_KEY_PATTERN.test(key)) return false;
  if (validAttributeKeys.size >= CACHE_LIMIT) validAttributeKeys.clear();
  validAttributeKeys.add(key);
  return true;
}

// toAttributeKey lives in the contracts (the web app's import preview uses it too); re-exported here
// for the callers that import it with the rest of the normalisation.
export { toAttributeKey };

// ---------------------------------------------------------------------------------------------
// Whole contact

const CONSENT_INPUTS = new Set<unknown>(["subscribed", "unsubscribed", "never_asked"]);
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_RUNS = /[\u0000-\u001f\u007f-\u009f]+/g;
const DOUBLE_SPACES = / {2,}/g;

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  return value === null ? "null" : `a ${typeof value}`;
}

/** Reads a field that its own validator checks character by character: type check and trim only. */
function readValue(value: unknown, field: string, maxLength: number, errors: FieldError[]): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") {
    errors.push({ field, message: `must be text, got ${describe(value)}` });
    return null;
  }
  const text = value.trim();
  if (text === "") return null;
  if (text.length > maxLength) {
    errors.push({ field, message: `is longer than ${maxLength} characters` });
    return null;
  }
  return text;
}

/**
 * Reads a single-line text field that is stored as given: trimmed, with control characters
 * (tabs, newlines, and NUL, which PostgreSQL text can't hold) turned into spaces.
 */
function readText(value: unknown, field: string, maxLength: number, errors: FieldError[]): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") {
    errors.push({ field, message: `must be text, got ${describe(value)}` });
    return null;
  }
  let text = value.trim();
  if (text === "") return null;
  if (CONTROL_CHARACTERS.test(text))
    text = text.replace(CONTROL_RUNS, " ").replace(DOUBLE_SPACES, " ").trim();
  if (text.length > maxLength && codePointLength(text) > maxLength) {
    errors.push({ field, message: `is longer than ${maxLength} characters` });
    return null;
  }
  return text;
}

/** Why a value can't be stored as JSON, if it can't. */
function jsonProblem(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : "numbers must be finite";
    case "object": {
      if (value === null) return undefined;
      if (depth > 10) return "is nested more than 10 levels deep";
      if (Array.isArray(value)) {
        for (const item of value) {
          const problem = jsonProblem(item, depth + 1);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return "must be plain JSON data";
      for (const item of Object.values(value)) {
        const problem = jsonProblem(item, depth + 1);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    default:
      return `can't store ${describe(value)}`;
  }
}

/**
 * Normalises one contact. Empty strings count as absent. Collects all field errors rather than
 * stopping at the first, so an import report can show everything wrong with a row at once.
 * A national phone number is read as a number of the address country when there is one, else of
 * `options.defaultCountry`. `timezone` is the explicit one when given, else `defaultTimezone` of
 * the address and phone country, falling back to `options.defaultTimezone`.
 */
export function normalizeContactInput(
  input: ContactInput,
  options: { defaultCountry: string; defaultTimezone: string },
): { ok: true; value: NormalizedContact } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const address = input.address ?? undefined;
  if (address !== undefined && (typeof address !== "object" || Array.isArray(address))) {
    errors.push({ field: "address", message: `must be an object, got ${describe(address)}` });
  }
  const parts: NonNullable<ContactInput["address"]> =
    address !== undefined && typeof address === "object" && !Array.isArray(address) ? address : {};

  const externalId = readText(input.externalId, "externalId", MAX_EXTERNAL_ID_LENGTH, errors);
  const firstName = readText(input.firstName, "firstName", MAX_NAME_LENGTH, errors);
  const lastName = readText(input.lastName, "lastName", MAX_NAME_LENGTH, errors);
  const addressLine1 = readText(parts.line1, "address.line1", MAX_NAME_LENGTH, errors);
  const addressLine2 = readText(parts.line2, "address.line2", MAX_NAME_LENGTH, errors);
  const city = readText(parts.city, "address.city", MAX_NAME_LENGTH, errors);
  const region = readText(parts.region, "address.region", MAX_NAME_LENGTH, errors);
  const postalCode = readText(parts.postalCode, "address.postalCode", MAX_NAME_LENGTH, errors);

  let country: string | null = null;
  const rawCountry = readValue(parts.country, "address.country", MAX_NAME_LENGTH, errors);
  if (rawCountry !== null) {
    const result = normalizeCountry(rawCountry);
    if (result.ok) country = result.value;
    else errors.push(result.error);
  }

  let email: string | null = null;
  const rawEmail = readValue(input.email, "email", 320, errors);
  if (rawEmail !== null) {
    const result = normalizeEmail(rawEmail);
    if (result.ok) email = result.value;
    else errors.push(result.error);
  }

  let phone: string | null = null;
  let phoneCountryCode: string | undefined;
  const rawPhone = readValue(input.phone, "phone", 250, errors);
  if (rawPhone !== null) {
    const result = normalizePhone(rawPhone, country ?? options.defaultCountry);
    if (result.ok) {
      phone = result.value.e164;
      phoneCountryCode = result.value.country;
    } else {
      errors.push(result.error);
    }
  }

  if (rawEmail === null && rawPhone === null && externalId === null && !errors.some(isIdentifierError)) {
    errors.push({
      field: "email",
      message: "an email address, a phone number or an external ID is required",
    });
  }

  let timezone: string | null = null;
  const rawTimezone = readValue(input.timezone, "timezone", 100, errors);
  if (rawTimezone !== null) {
    const result = normalizeTimezone(rawTimezone);
    if (result.ok) timezone = result.value;
    else errors.push(result.error);
  } else {
    timezone = defaultTimezone(
      {
        country: country ?? undefined,
        region: region ?? undefined,
        phoneCountry: phoneCountryCode,
        postalCode: postalCode ?? undefined,
      },
      options.defaultTimezone,
    );
  }

  const attributes: Record<string, unknown> = {};
  const rawAttributes = input.attributes;
  if (rawAttributes !== undefined && rawAttributes !== null) {
    if (typeof rawAttributes !== "object" || Array.isArray(rawAttributes)) {
      errors.push({ field: "attributes", message: `must be an object, got ${describe(rawAttributes)}` });
    } else {
      for (const key of Object.keys(rawAttributes)) {
        const value = rawAttributes[key];
        if (!isValidAttributeKey(key)) {
          errors.push({
            field: `attributes.${key}`,
            message: `${quote(key)} is not a valid attribute key; use up to 64 letters, digits and underscores, not starting with a digit (for example "${toAttributeKey(key)}")`,
          });
          continue;
        }
        if (value === undefined) continue;
        const problem = jsonProblem(value, 0);
        if (problem !== undefined) errors.push({ field: `attributes.${key}`, message: problem });
        else attributes[key] = value;
      }
    }
  }

  const consent: Partial<Record<Channel, ConsentInput>> = {};
  const rawConsent = input.consent;
  if (rawConsent !== undefined && rawConsent !== null) {
    if (typeof rawConsent !== "object" || Array.isArray(rawConsent)) {
      errors.push({ field: "consent", message: `must be an object, got ${describe(rawConsent)}` });
    } else {
      for (const key of Object.keys(rawConsent)) {
        const value: unknown = (rawConsent as Record<string, unknown>)[key];
        if (!(CHANNELS as readonly string[]).includes(key)) {
          errors.push({ field: `consent.${key}`, message: `unknown channel; use ${CHANNELS.join(", ")}` });
        } else if (value === undefined || value === null) {
          // Absent: leaves whatever consent is already on record untouched.
        } else if (CONSENT_INPUTS.has(value)) {
          consent[key as Channel] = value as ConsentInput;
        } else {
          const system = value === "bounced" || value === "complained";
          errors.push({
            field: `consent.${key}`,
            message: system
              ? `"${value}" is recorded by the system from delivery reports and can't be set`
              : `must be "subscribed", "unsubscribed" or "never_asked", got ${typeof value === "string" ? quote(value) : describe(value)}`,
          });
        }
      }
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      externalId,
      email,
      phone,
      firstName,
      lastName,
      addressLine1,
      addressLine2,
      city,
      region,
      postalCode,
      country,
      timezone,
      attributes,
      consent,
    },
  };
}

function isIdentifierError(error: FieldError): boolean {
  return error.field === "email" || error.field === "phone" || error.field === "externalId";
}
