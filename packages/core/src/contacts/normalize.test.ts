import fc from "fast-check";
import examples from "libphonenumber-js/examples.mobile.json";
import { type CountryCode, getExampleNumber, parsePhoneNumberFromString } from "libphonenumber-js/max";
import { describe, expect, it } from "vitest";
import {
  defaultTimezone,
  inferAttributeValue,
  isValidAttributeKey,
  normalizeContactInput,
  normalizeCountry,
  normalizeEmail,
  normalizePhone,
  normalizeTimezone,
  parseConsent,
  toAttributeKey,
} from "./normalize.ts";

const OPTIONS = { defaultCountry: "US", defaultTimezone: "Europe/Dublin" };

describe("normalizeEmail", () => {
  it.each([
    ["jane@example.com", "jane@example.com"],
    ["  Jane.Doe@Example.COM ", "jane.doe@example.com"],
    ["first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"],
    ["o'brien@example.ie", "o'brien@example.ie"],
    ["x_y-z@my-domain.io", "x_y-z@my-domain.io"],
    ["user@bücher.de", "user@bücher.de"],
    ["user@BÜCHER.de", "user@bücher.de"],
    ["user@xn--bcher-kva.de", "user@bücher.de"],
    ["user@例え.jp", "user@例え.jp"],
    [`${"a".repeat(64)}@example.com`, `${"a".repeat(64)}@example.com`],
  ])("accepts %j as %j", (raw, expected) => {
    expect(normalizeEmail(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["", "empty"],
    ["jane.example.com", 'no "@"'],
    ["jane@@example.com", 'more than one "@"'],
    ["a@b@example.com", 'more than one "@"'],
    ["@example.com", 'nothing before the "@"'],
    ["jane@", 'nothing after the "@"'],
    ["jane doe@example.com", "space"],
    ["jane@exam ple.com", "space"],
    ["jane\u0000@example.com", "contains"],
    ["jane\t@example.com", "space"],
    ["jane@exa\u200bmple.com", "invisible"],
    ["jane@example", "needs a dot"],
    ["jane@localhost", "needs a dot"],
    [".jane@example.com", "dots"],
    ["jane.@example.com", "dots"],
    ["ja..ne@example.com", "dots"],
    ["jane@example..com", "empty part"],
    ["jane@.example.com", "empty part"],
    ["jane@example.com.", "empty part"],
    ["jane@-example.com", "hyphen"],
    ["jane@example-.com", "hyphen"],
    ["jane@exa_mple.com", '"_"'],
    ["jane@1.2.3.4", "top-level domain"],
    ["jane@example.c", "too short"],
    ["jane@[127.0.0.1]", '"["'],
    ['"jane"@example.com', '\\"'],
    ["jäne@example.com", "non-ASCII"],
    [`${"a".repeat(65)}@example.com`, "longer than 64"],
    [`jane@${"a".repeat(64)}.com`, "longer than 63"],
    [`jane@${"abcdefghi.".repeat(25)}com`, "longer than 25"],
    ["jane@xn--zz.com", "not a valid domain"],
    ["jane@bü%41cher.de", '"%"'],
  ])("rejects %j (%s)", (raw, reason) => {
    const result = normalizeEmail(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe("email");
      expect(result.error.message).toContain(reason);
    }
  });

  it("quotes the bad value in the message", () => {
    const result = normalizeEmail("  not-an-email ");
    expect(result).toEqual({
      ok: false,
      error: { field: "email", message: '"not-an-email" is not a valid email address: it has no "@"' },
    });
  });

  it("accepts the addresses fast-check generates", () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        expect(normalizeEmail(email)).toEqual({ ok: true, value: email.toLowerCase() });
      }),
    );
  });

  it("is idempotent on its own output", () => {
    const idn = fc
      .tuple(
        fc.emailAddress(),
        fc.constantFrom(
          "bücher.de",
          "BÜCHER.de",
          "xn--bcher-kva.de",
          "例え.jp",
          "ΣΊΣΥΦΟΣ.gr",
          "ＥＸＡＭＰＬＥ.com",
        ),
      )
      .map(([email, domain]) => `${email.slice(0, email.indexOf("@"))}@${domain}`);
    const mixedCase = fc.emailAddress().map((email) => email.toUpperCase());
    fc.assert(
      fc.property(
        fc.oneof(fc.emailAddress(), idn, mixedCase, fc.string(), fc.string({ unit: "binary" })),
        (raw) => {
          const first = normalizeEmail(raw);
          if (first.ok) expect(normalizeEmail(first.value)).toEqual(first);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("never accepts a string with whitespace inside it", () => {
    const whitespace = fc.constantFrom(
      " ",
      "\t",
      "\n",
      "\r",
      "\u00a0",
      "\u2003",
      "\u3000",
      "\u2028",
      "\ufeff",
    );
    const around = fc.oneof(
      fc.emailAddress(),
      fc.string(),
      fc.constantFrom("jane", "@", "example.com", "jane@ex"),
    );
    fc.assert(
      fc.property(around, whitespace, around, (before, space, after) => {
        const raw = before + space + after;
        const result = normalizeEmail(raw);
        if (/\s/.test(raw.trim())) expect(result.ok).toBe(false);
        if (result.ok) expect(result.value).not.toMatch(/\s/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("normalizePhone", () => {
  it.each([
    ["+44 20 7946 0958", "US", "+442079460958", "GB"],
    ["020 7946 0958", "GB", "+442079460958", "GB"],
    ["07400 123456", "GB", "+447400123456", "GB"],
    ["+44 (0) 7400 123456", "US", "+447400123456", "GB"],
    ["0044 20 7946 0958", "US", "+442079460958", "GB"],
    ["0044 20 7946 0958", "GB", "+442079460958", "GB"],
    ["(415) 555-2671", "US", "+14155552671", "US"],
    ["415.555.2671", "US", "+14155552671", "US"],
    ["1-415-555-2671", "US", "+14155552671", "US"],
    ["+1 415 555 2671", "GB", "+14155552671", "US"],
    ["+14155552671", "DE", "+14155552671", "US"],
    ["011 44 20 7946 0958", "US", "+442079460958", "GB"],
    ["(416) 555-0123", "US", "+14165550123", "CA"],
    ["01 45 45 32 45", "FR", "+33145453245", "FR"],
    ["06 12 34 56 78", "FR", "+33612345678", "FR"],
    ["00 33 1 45 45 32 45", "US", "+33145453245", "FR"],
    ["+33 6 12 34 56 78", "US", "+33612345678", "FR"],
    ["030 1234567", "DE", "+49301234567", "DE"],
    ["0151 23456789", "DE", "+4915123456789", "DE"],
    ["+49 (0)30 1234567", "US", "+49301234567", "DE"],
    ["98765 43210", "IN", "+919876543210", "IN"],
    ["098765 43210", "IN", "+919876543210", "IN"],
    ["+91 98765-43210", "US", "+919876543210", "IN"],
    ["+1 415 555 2671 ext. 123", "US", "+14155552671", "US"],
    ["(415) 555-2671 x12", "US", "+14155552671", "US"],
    ["07624 369230", "GB", "+447624369230", "IM"],
  ])("reads %j with default %s as %s", (raw, defaultCountry, e164, country) => {
    expect(normalizePhone(raw, defaultCountry)).toEqual({ ok: true, value: { e164, country } });
  });

  it.each([
    ["12345", "US"],
    ["+1 555 555 5555", "US"],
    ["+1 415 555 26711", "US"],
    ["+44 12", "US"],
    ["07700 900123", "GB"],
    ["+99912345678", "US"],
    ["call me maybe", "US"],
    ["555-CALL-NOW", "US"],
    ["+0044 20 7946 0958", "US"],
  ])("rejects %j (default %s)", (raw, defaultCountry) => {
    const result = normalizePhone(raw, defaultCountry);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe("phone");
      expect(result.error.message).toContain(JSON.stringify(raw));
    }
  });

  it("says which country a national number was read for", () => {
    const result = normalizePhone("020 7946 0958", "US");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain("for US");
  });

  it("reads international numbers when the default country is unknown", () => {
    expect(normalizePhone("+44 20 7946 0958", "XX")).toEqual({
      ok: true,
      value: { e164: "+442079460958", country: "GB" },
    });
    expect(normalizePhone("020 7946 0958", "XX").ok).toBe(false);
  });

  it("agrees with libphonenumber-js on generated numbers (the fast path keeps isValid() semantics)", () => {
    const countries: CountryCode[] = [
      "US",
      "CA",
      "JM",
      "GB",
      "GG",
      "IM",
      "DE",
      "FR",
      "IT",
      "ES",
      "NL",
      "IN",
      "AU",
    ];
    countries.push("BR", "MX", "RU", "KZ", "JP", "CN", "SG", "ZA", "NG", "AR", "CO", "AT", "CH", "SE", "IE");
    const number = fc
      .record({
        country: fc.constantFrom(...countries),
        defaultCountry: fc.constantFrom(...countries),
        keep: fc.nat(12),
        digits: fc.stringMatching(/^\d{0,12}$/),
        sameLength: fc.boolean(),
        format: fc.constantFrom("E.164", "INTERNATIONAL", "NATIONAL", "national digits", "raw"),
      })
      .map(({ country, defaultCountry, keep, digits, sameLength, format }) => {
        const example = getExampleNumber(country, examples);
        if (!example) throw new Error(`no example for ${country}`);
        // Keep a prefix of a real number and change the rest, so some stay valid and some don't.
        const length = example.nationalNumber.length;
        const changed = example.nationalNumber.slice(0, keep) + digits;
        const national = sameLength
          ? (changed + example.nationalNumber).slice(0, length)
          : changed.slice(0, length + 1);
        const mutated = parsePhoneNumberFromString(`+${example.countryCallingCode}${national}`);
        let text: string;
        if (format === "raw") text = national;
        else if (!mutated) text = `+${example.countryCallingCode}${national}`;
        else if (format === "E.164") text = mutated.number;
        else if (format === "INTERNATIONAL") text = mutated.formatInternational();
        else if (format === "NATIONAL") text = mutated.formatNational();
        else text = mutated.formatNational().replace(/\D/g, "");
        return { text, defaultCountry };
      })
      .filter(({ text }) => !text.startsWith("00"));
    fc.assert(
      fc.property(number, ({ text, defaultCountry }) => {
        const library = parsePhoneNumberFromString(text, { defaultCountry });
        const expected = library?.isValid()
          ? { ok: true, value: { e164: library.number, country: library.country } }
          : { ok: false };
        const actual = normalizePhone(text, defaultCountry);
        expect(actual.ok ? actual : { ok: false }).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("normalizeTimezone", () => {
  it.each([
    ["Europe/London", "Europe/London"],
    ["europe/london", "Europe/London"],
    ["  AMERICA/NEW_YORK ", "America/New_York"],
    ["America/New York", "America/New_York"],
    ["america/argentina/buenos_aires", "America/Argentina/Buenos_Aires"],
    ["america/port-au-prince", "America/Port-au-Prince"],
    ["UTC", "UTC"],
    ["utc", "UTC"],
    ["Etc/UTC", "UTC"],
    ["GMT", "UTC"],
    ["Etc/GMT", "UTC"],
    ["UTC+00:00", "UTC"],
    ["Asia/Calcutta", "Asia/Kolkata"],
    ["Europe/Kiev", "Europe/Kyiv"],
    ["US/Eastern", "America/New_York"],
    ["GB", "Europe/London"],
    ["Europe/Amsterdam", "Europe/Amsterdam"],
    ["Europe/Stockholm", "Europe/Stockholm"],
    ["Africa/Accra", "Africa/Accra"],
    ["Japan", "Asia/Tokyo"],
    ["Iceland", "Atlantic/Reykjavik"],
  ])("accepts %j as %j", (raw, expected) => {
    expect(normalizeTimezone(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["EST", "America/New_York"],
    ["pst", "America/Los_Angeles"],
    ["CET", "Europe/Paris"],
    ["BST", "Europe/London"],
    ["IST", "Asia/Kolkata"],
    ["AEST", "Australia/Sydney"],
    ["EST5EDT", "America/New_York"],
  ])("rejects the abbreviation %j and suggests %s", (raw, suggestion) => {
    const result = normalizeTimezone(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe("timezone");
      expect(result.error.message).toContain("abbreviation");
      expect(result.error.message).toContain(`"${suggestion}"`);
    }
  });

  it.each(["+02:00", "-0500", "+5", "UTC+2", "GMT-05:00", "utc +05:30", "Etc/GMT-2", "Etc/GMT+5"])(
    "rejects the offset %j with a helpful message",
    (raw) => {
      const result = normalizeTimezone(raw);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.message).toContain("offset");
        expect(result.error.message).toContain("daylight saving");
        expect(result.error.message).toMatch(/"[A-Z][a-z]+\/[A-Za-z_]+"/);
      }
    },
  );

  it.each([
    ["London", 'did you mean "Europe/London"?'],
    ["new york", 'did you mean "America/New_York"?'],
    ["Europe/Pariss", '"Europe/London"'],
    ["Germany", 'use "Europe/Berlin"'],
    ["", "empty"],
  ])("rejects %j with a suggestion", (raw, hint) => {
    const result = normalizeTimezone(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain(hint);
  });
});

describe("normalizeCountry", () => {
  it.each([
    ["US", "US"],
    ["us", "US"],
    ["USA", "US"],
    ["U.S.", "US"],
    ["U.S.A.", "US"],
    ["United States", "US"],
    ["United States of America", "US"],
    ["  united   states ", "US"],
    ["GB", "GB"],
    ["GBR", "GB"],
    ["UK", "GB"],
    ["U.K.", "GB"],
    ["United Kingdom", "GB"],
    ["Great Britain", "GB"],
    ["England", "GB"],
    ["Scotland", "GB"],
    ["DEU", "DE"],
    ["Germany", "DE"],
    ["Deutschland", "DE"],
    ["The Netherlands", "NL"],
    ["Netherlands", "NL"],
    ["Holland", "NL"],
    ["NLD", "NL"],
    ["France", "FR"],
    ["España", "ES"],
    ["Côte d'Ivoire", "CI"],
    ["Ivory Coast", "CI"],
    ["South Korea", "KR"],
    ["Korea, Republic of", "KR"],
    ["Czech Republic", "CZ"],
    ["Türkiye", "TR"],
    ["Turkey", "TR"],
    ["St. Kitts & Nevis", "KN"],
    ["Saint Lucia", "LC"],
    ["Trinidad and Tobago", "TT"],
    ["UAE", "AE"],
    ["Hong Kong", "HK"],
    ["Russian Federation", "RU"],
    ["Viet Nam", "VN"],
    ["Bouvet Island", "BV"],
  ])("reads %j as %s", (raw, expected) => {
    expect(normalizeCountry(raw)).toEqual({ ok: true, value: expected });
  });

  it.each(["Narnia", "XX", "ZZZ", "Europe", ""])("rejects %j", (raw) => {
    const result = normalizeCountry(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.field).toBe("address.country");
  });

  it("quotes the unknown value and names the expected forms", () => {
    const result = normalizeCountry("Narnia");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/^"Narnia" .*ISO code/);
  });
});

describe("defaultTimezone", () => {
  const WORKSPACE = "Asia/Tokyo";

  it.each([
    ["GB", "Europe/London"],
    ["FR", "Europe/Paris"],
    ["DE", "Europe/Berlin"],
    ["IN", "Asia/Kolkata"],
    ["JP", "Asia/Tokyo"],
    ["IE", "Europe/Dublin"],
    ["SE", "Europe/Stockholm"],
    ["NL", "Europe/Amsterdam"],
    ["Iceland", "Atlantic/Reykjavik"],
    ["NZ", "Pacific/Auckland"],
    ["ES", "Europe/Madrid"],
    ["CN", "Asia/Shanghai"],
  ])("uses the zone of a single-zone country (%s -> %s)", (country, zone) => {
    expect(defaultTimezone({ country }, "UTC")).toBe(zone);
  });

  it.each([
    ["CA", "America/Los_Angeles"],
    ["NY", "America/New_York"],
    ["Texas", "America/Chicago"],
    ["tx", "America/Chicago"],
    ["Arizona", "America/Phoenix"],
    ["Hawaii", "Pacific/Honolulu"],
    ["AK", "America/Anchorage"],
    ["District of Columbia", "America/New_York"],
    ["US-WA", "America/Los_Angeles"],
    ["Calif.", "America/Los_Angeles"],
    ["State of New York", "America/New_York"],
  ])("uses a US state's zone (%s -> %s)", (region, zone) => {
    expect(defaultTimezone({ country: "US", region }, WORKSPACE)).toBe(zone);
  });

  it("knows every US state and DC by code", () => {
    const states =
      "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY";
    for (const region of states.split(" ")) {
      const zone = defaultTimezone({ country: "US", region }, WORKSPACE);
      expect(zone, region).not.toBe(WORKSPACE);
      expect(normalizeTimezone(zone)).toEqual({ ok: true, value: zone });
    }
  });

  it.each([
    ["ON", "America/Toronto"],
    ["Quebec", "America/Toronto"],
    ["BC", "America/Vancouver"],
    ["Alberta", "America/Edmonton"],
    ["SK", "America/Regina"],
    ["MB", "America/Winnipeg"],
    ["NS", "America/Halifax"],
    ["NB", "America/Moncton"],
    ["PE", "America/Halifax"],
    ["NL", "America/St_Johns"],
    ["YT", "America/Whitehorse"],
    ["NT", "America/Edmonton"],
  ])("uses a Canadian province's zone (%s -> %s)", (region, zone) => {
    expect(defaultTimezone({ country: "CA", region }, WORKSPACE)).toBe(zone);
  });

  it.each([
    ["NSW", "Australia/Sydney"],
    ["Victoria", "Australia/Melbourne"],
    ["QLD", "Australia/Brisbane"],
    ["South Australia", "Australia/Adelaide"],
    ["WA", "Australia/Perth"],
    ["TAS", "Australia/Hobart"],
    ["NT", "Australia/Darwin"],
    ["ACT", "Australia/Sydney"],
  ])("uses an Australian state's zone (%s -> %s)", (region, zone) => {
    expect(defaultTimezone({ country: "AU", region }, WORKSPACE)).toBe(zone);
  });

  it.each([
    ["BR", "SP", "America/Sao_Paulo"],
    ["BR", "Amazonas", "America/Manaus"],
    ["MX", "Jalisco", "America/Mexico_City"],
    ["MX", "Quintana Roo", "America/Cancun"],
    ["RU", "Moscow", "Europe/Moscow"],
    ["RU", "Sverdlovsk Oblast", "Asia/Yekaterinburg"],
  ])("uses the region table for %s %s", (country, region, zone) => {
    expect(defaultTimezone({ country, region }, WORKSPACE)).toBe(zone);
  });

  it.each([
    [{ country: "US" }],
    [{ country: "US", region: "Narnia" }],
    [{ country: "CA" }],
    [{ country: "AU" }],
    [{ country: "BR" }],
    [{ country: "RU" }],
    [{ country: "CA", region: "NU" }],
    [{ country: "MX", region: "Chihuahua" }],
    [{}],
    [{ country: "Narnia" }],
  ])("falls back to the workspace default when the zone is ambiguous or unknown: %j", (input) => {
    expect(defaultTimezone(input, WORKSPACE)).toBe(WORKSPACE);
  });

  it("uses the phone's country when the address has none", () => {
    expect(defaultTimezone({ phoneCountry: "GB" }, WORKSPACE)).toBe("Europe/London");
    expect(defaultTimezone({ phoneCountry: "US", region: "Texas" }, WORKSPACE)).toBe("America/Chicago");
  });

  it("prefers the address country over the phone's", () => {
    expect(defaultTimezone({ country: "FR", phoneCountry: "GB" }, WORKSPACE)).toBe("Europe/Paris");
  });

  it("accepts country names as well as codes", () => {
    expect(defaultTimezone({ country: "United States", region: "California" }, WORKSPACE)).toBe(
      "America/Los_Angeles",
    );
  });

  it("reads the province from a Canadian postal code and the state from an Australian postcode", () => {
    expect(defaultTimezone({ country: "CA", postalCode: "V6B 1A1" }, WORKSPACE)).toBe("America/Vancouver");
    expect(defaultTimezone({ country: "CA", postalCode: "M5V 2T6" }, WORKSPACE)).toBe("America/Toronto");
    expect(defaultTimezone({ country: "AU", postalCode: "3000" }, WORKSPACE)).toBe("Australia/Melbourne");
    expect(defaultTimezone({ country: "AU", postalCode: "0800" }, WORKSPACE)).toBe("Australia/Darwin");
    expect(defaultTimezone({ country: "AU", postalCode: "2880" }, WORKSPACE)).toBe("Australia/Broken_Hill");
    expect(defaultTimezone({ country: "US", postalCode: "10001" }, WORKSPACE)).toBe(WORKSPACE);
  });

  it("lets the region win over the postal code", () => {
    expect(defaultTimezone({ country: "CA", region: "AB", postalCode: "V6B 1A1" }, WORKSPACE)).toBe(
      "America/Edmonton",
    );
  });
});

describe("parseConsent", () => {
  it.each([
    "yes",
    "Yes",
    "Y",
    "true",
    "TRUE",
    "1",
    "subscribed",
    "opted in",
    "Opted-In",
    "opt-in",
    "opt in",
    "x",
    "X",
    " yes ",
  ])("reads %j as subscribed", (raw) => {
    expect(parseConsent(raw)).toEqual({ ok: true, value: "subscribed" });
  });

  it.each(["no", "N", "false", "0", "unsubscribed", "opted out", "Opted-Out", "opt-out"])(
    "reads %j as unsubscribed",
    (raw) => {
      expect(parseConsent(raw)).toEqual({ ok: true, value: "unsubscribed" });
    },
  );

  it.each(["never_asked", "never asked"])("reads %j as never_asked", (raw) => {
    expect(parseConsent(raw)).toEqual({ ok: true, value: "never_asked" });
  });

  it.each(["", "   "])("reads %j as not given", (raw) => {
    expect(parseConsent(raw)).toEqual({ ok: true, value: undefined });
  });

  it.each(["maybe", "2", "yess", "constructor", "toString"])("rejects %j", (raw) => {
    const result = parseConsent(raw, "sms");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe("consent.sms");
      expect(result.error.message).toContain(JSON.stringify(raw));
    }
  });

  it("explains that bounced and complained are set by the system", () => {
    const result = parseConsent("bounced");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain("system");
  });
});

describe("inferAttributeValue", () => {
  it.each<[string, string | number | boolean | null]>([
    ["", null],
    ["   ", null],
    ["true", true],
    ["TRUE", true],
    ["False", false],
    ["0", 0],
    ["42", 42],
    ["-7", -7],
    ["3.14", 3.14],
    ["-0.5", -0.5],
    ["19.90", 19.9],
    ["0.000123", 0.000123],
    ["123456789012345", 123456789012345],
    ["1234567890.12345", 1234567890.12345],
    [" 42 ", 42],
    ["02134", "02134"],
    ["00", "00"],
    ["-0", "-0"],
    ["1e5", "1e5"],
    ["+1", "+1"],
    [".5", ".5"],
    ["5.", "5."],
    ["1,000", "1,000"],
    ["1234567890123456", "1234567890123456"],
    ["12345678901234.56", "12345678901234.56"],
    ["NaN", "NaN"],
    ["Infinity", "Infinity"],
    ["0x1F", "0x1F"],
    ["yes", "yes"],
    ["hello", "hello"],
  ])("types %j as %j", (raw, expected) => {
    expect(inferAttributeValue(raw)).toStrictEqual(expected);
  });

  it("only returns numbers that print back as the text they came from", () => {
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^-?\d{1,18}(\.\d{1,6})?$/), fc.string()), (raw) => {
        const value = inferAttributeValue(raw);
        if (typeof value === "number") expect(Number(raw.trim())).toBe(value);
        if (typeof value === "number" && !raw.includes(".")) expect(String(value)).toBe(raw.trim());
      }),
    );
  });
});

describe("attribute keys", () => {
  it.each(["plan", "Plan", "_private", "lifetime_value", "a1", `a${"b".repeat(63)}`])("accepts %j", (key) => {
    expect(isValidAttributeKey(key)).toBe(true);
  });

  it.each(["", "1st", "first name", "first-name", "émoji", `a${"b".repeat(64)}`, "a.b"])(
    "rejects %j",
    (key) => {
      expect(isValidAttributeKey(key)).toBe(false);
    },
  );

  it.each([
    ["Lifetime Value ($)", "lifetime_value"],
    ["2024 Spend", "_2024_spend"],
    ["First  Name", "first_name"],
    ["first__name", "first_name"],
    ["--Plan--", "plan"],
    ["MailingStreet", "mailing_street"],
    ["customerID", "customer_id"],
    ["Café Visits", "cafe_visits"],
    ["$$$", "attribute"],
  ])("turns the header %j into %j", (header, key) => {
    expect(toAttributeKey(header)).toBe(key);
  });

  it("trims long headers to 64 characters", () => {
    const key = toAttributeKey(`${"word ".repeat(30)}end`);
    expect(key.length).toBeLessThanOrEqual(64);
    expect(key.endsWith("_")).toBe(false);
  });

  it("always produces a valid key", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 200 })), (header) => {
        expect(isValidAttributeKey(toAttributeKey(header))).toBe(true);
      }),
    );
  });
});

describe("normalizeContactInput", () => {
  it("normalises a complete contact", () => {
    const result = normalizeContactInput(
      {
        externalId: " crm-42 ",
        email: " Jane.Doe@Example.com",
        phone: "(415) 555-2671",
        firstName: " Jane ",
        lastName: "Doe",
        address: {
          line1: "1 Market St",
          line2: "",
          city: "San Francisco",
          region: "CA",
          postalCode: "94105",
          country: "USA",
        },
        attributes: { plan: "pro", seats: 3, vip: true, tags: ["a", "b"] },
        consent: { email: "subscribed", sms: "never_asked" },
      },
      OPTIONS,
    );
    expect(result).toEqual({
      ok: true,
      value: {
        externalId: "crm-42",
        email: "jane.doe@example.com",
        phone: "+14155552671",
        firstName: "Jane",
        lastName: "Doe",
        addressLine1: "1 Market St",
        addressLine2: null,
        city: "San Francisco",
        region: "CA",
        postalCode: "94105",
        country: "US",
        timezone: "America/Los_Angeles",
        attributes: { plan: "pro", seats: 3, vip: true, tags: ["a", "b"] },
        consent: { email: "subscribed", sms: "never_asked" },
      },
    });
  });

  it("collects every field error at once", () => {
    const result = normalizeContactInput(
      {
        email: "jane@",
        phone: "12345",
        address: { country: "Narnia" },
        timezone: "EST",
        firstName: "x".repeat(201),
        attributes: { "bad key": 1, ok: 2, nan: Number.NaN },
        consent: { sms: "yes" as never, fax: "subscribed" } as never,
      },
      OPTIONS,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((error) => error.field).sort()).toEqual(
        [
          "address.country",
          "attributes.bad key",
          "attributes.nan",
          "consent.fax",
          "consent.sms",
          "email",
          "firstName",
          "phone",
          "timezone",
        ].sort(),
      );
    }
  });

  it("requires an email, a phone or an external ID", () => {
    const result = normalizeContactInput(
      { firstName: "Jane", email: "  ", phone: "", externalId: null },
      OPTIONS,
    );
    expect(result).toEqual({
      ok: false,
      errors: [{ field: "email", message: "an email address, a phone number or an external ID is required" }],
    });
  });

  it("doesn't add the identifier error on top of an invalid identifier", () => {
    const result = normalizeContactInput({ email: "nope" }, OPTIONS);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toHaveLength(1);
  });

  it("treats empty strings and nulls as absent", () => {
    const result = normalizeContactInput(
      {
        externalId: "7",
        email: "",
        phone: null,
        firstName: "  ",
        address: { country: "", region: "" },
        timezone: "",
      },
      OPTIONS,
    );
    expect(result.ok && result.value).toMatchObject({
      externalId: "7",
      email: null,
      phone: null,
      firstName: null,
      country: null,
      region: null,
      timezone: OPTIONS.defaultTimezone,
    });
  });

  it("limits names and address parts to 200 characters and external IDs to 255", () => {
    expect(
      normalizeContactInput({ externalId: "e".repeat(255), lastName: "ö".repeat(200) }, OPTIONS).ok,
    ).toBe(true);
    const result = normalizeContactInput(
      { externalId: "e".repeat(256), email: "a@b.co", address: { city: "c".repeat(201) } },
      OPTIONS,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((error) => error.field)).toEqual(["externalId", "address.city"]);
  });

  it("replaces control characters in text fields with spaces", () => {
    const result = normalizeContactInput(
      { email: "a@b.co", firstName: "Jane\t\tMarie\u0000", lastName: "Doe\nSmith" },
      OPTIONS,
    );
    expect(result.ok && [result.value.firstName, result.value.lastName]).toEqual(["Jane Marie", "Doe Smith"]);
  });

  it("keeps an explicit time zone over the defaulted one", () => {
    const result = normalizeContactInput(
      { email: "a@b.co", timezone: "asia/tokyo", address: { country: "US", region: "NY" } },
      OPTIONS,
    );
    expect(result.ok && result.value.timezone).toBe("Asia/Tokyo");
  });

  it("defaults the time zone from the phone's country when there is no address", () => {
    const result = normalizeContactInput({ phone: "+44 20 7946 0958" }, OPTIONS);
    expect(result.ok && result.value.timezone).toBe("Europe/London");
  });

  it("reads national phone numbers as numbers of the address country", () => {
    const result = normalizeContactInput(
      { phone: "020 7946 0958", address: { country: "United Kingdom" } },
      OPTIONS,
    );
    expect(result.ok && [result.value.phone, result.value.country]).toEqual(["+442079460958", "GB"]);
  });

  it("falls back to the workspace time zone when nothing settles it", () => {
    const result = normalizeContactInput({ email: "a@b.co", address: { country: "US" } }, OPTIONS);
    expect(result.ok && result.value.timezone).toBe(OPTIONS.defaultTimezone);
  });

  it("rejects consent values only the system may set", () => {
    const result = normalizeContactInput(
      { email: "a@b.co", consent: { email: "bounced" as never } },
      OPTIONS,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatchObject({ field: "consent.email" });
  });

  it("rejects values of the wrong type instead of throwing", () => {
    const result = normalizeContactInput(
      { email: 42 as never, externalId: "x", attributes: [] as never, address: "1 Main St" as never },
      OPTIONS,
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.errors.map((error) => error.field).sort()).toEqual(["address", "attributes", "email"]);
  });
});
