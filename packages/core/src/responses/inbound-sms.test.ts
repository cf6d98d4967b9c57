import { describe, expect, it } from "vitest";
import {
  authTokenOfTwilioUrl,
  parseForm,
  SMS_KEYWORDS,
  smsKeyword,
  twilioSignature,
  twiml,
  verifyTwilioSignature,
} from "./inbound-sms.ts";

// The worked example of Twilio's request-validation docs, as Twilio's own libraries test it
// (twilio-python tests/unit/test_request_validator.py, twilio-php RequestValidatorTest).
const TOKEN = "12345";
const URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
const PARAMS: [string, string][] = [
  ["CallSid", "CA1234567890ABCDE"],
  ["Caller", "+14158675309"],
  ["Digits", "1234"],
  ["From", "+14158675309"],
  ["To", "+18005551212"],
];
const DOCUMENTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

describe("twilioSignature", () => {
  it("reproduces the signature of Twilio's documented example", () => {
    expect(twilioSignature(TOKEN, URL, PARAMS)).toBe(DOCUMENTED);
  });

  it("sorts parameters by name whatever order they came in", () => {
    expect(twilioSignature(TOKEN, URL, [...PARAMS].reverse())).toBe(DOCUMENTED);
  });

  it("signs a repeated parameter once per value, values sorted (Twilio's duplicate-parameter vector)", () => {
    const params: [string, string][] = [
      ["Sid", "CA123"],
      ["SidAccount", "AC123"],
      ["Digits", "5678"],
      ["Digits", "1234"],
    ];
    expect(twilioSignature(TOKEN, URL, params)).toBe("IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  });
});

describe("verifyTwilioSignature", () => {
  it("accepts the documented signature and refuses any change to token, URL, parameters or signature", () => {
    expect(verifyTwilioSignature(TOKEN, URL, PARAMS, DOCUMENTED)).toBe(true);
    expect(verifyTwilioSignature("12346", URL, PARAMS, DOCUMENTED)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, `${URL}&baz=3`, PARAMS, DOCUMENTED)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, URL.replace("https", "http"), PARAMS, DOCUMENTED)).toBe(false);
    const tampered = PARAMS.map(([n, v]) => [n, n === "Digits" ? "9999" : v] as [string, string]);
    expect(verifyTwilioSignature(TOKEN, URL, tampered, DOCUMENTED)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, URL, [...PARAMS, ["Extra", ""]], DOCUMENTED)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, URL, PARAMS, DOCUMENTED.toLowerCase())).toBe(false);
    expect(verifyTwilioSignature(TOKEN, URL, PARAMS, "")).toBe(false);
    expect(verifyTwilioSignature(TOKEN, URL, PARAMS, "invalid 王")).toBe(false);
  });

  it("accepts the URL with or without its port, as Twilio's libraries do (their port vectors)", () => {
    expect(verifyTwilioSignature(TOKEN, URL.replace(".com", ".com:1234"), PARAMS, DOCUMENTED)).toBe(true);
    expect(verifyTwilioSignature(TOKEN, URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")).toBe(true);
    const http = URL.replace("https", "http");
    expect(verifyTwilioSignature(TOKEN, http, PARAMS, "0ZXoZLH/DfblKGATFgpif+LLRf4=")).toBe(true);
    expect(
      verifyTwilioSignature(TOKEN, http.replace(".com", ".com:1234"), PARAMS, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    ).toBe(true);
  });

  it("round-trips a form body as parsed from the wire", () => {
    const body = "Body=Hello+there%21+%F0%9F%91%8B&From=%2B14155550123&To=%2B14155550100&MessageSid=SM1";
    const form = parseForm(body);
    if (!form.ok) throw new Error(form.reason);
    const url = "https://omneural.example/hooks/twilio/inbound";
    const signature = twilioSignature("tok", url, form.params);
    expect(verifyTwilioSignature("tok", url, form.params, signature)).toBe(true);
    expect(form.params).toContainEqual(["Body", "Hello there! 👋"]);
  });
});

describe("parseForm", () => {
  it("decodes + and percent escapes, keeps repeated names and empty values", () => {
    expect(parseForm("a=1+2&b=%26&a=3&c=&d")).toEqual({
      ok: true,
      params: [
        ["a", "1 2"],
        ["b", "&"],
        ["a", "3"],
        ["c", ""],
        ["d", ""],
      ],
    });
  });

  it("refuses a bad percent escape instead of guessing", () => {
    expect(parseForm("Body=100%&From=x")).toMatchObject({ ok: false });
    expect(parseForm("Body=%E0%A4%A&From=x")).toMatchObject({ ok: false });
  });
});

describe("smsKeyword", () => {
  const variants = (word: string) => [
    word,
    word.toLowerCase(),
    word[0] + word.slice(1).toLowerCase(),
    `  ${word.toLowerCase()}  `,
    `\n${word}\t`,
    word.split("").join(" "),
    `${word}.`,
    `${word}!`,
    // Full-width letters, as some phones' keyboards type them.
    [...word].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join(""),
  ];

  for (const [kind, words] of Object.entries(SMS_KEYWORDS)) {
    for (const word of words) {
      it(`reads ${word} as ${kind} in any case and spacing`, () => {
        for (const text of variants(word)) expect(smsKeyword(text), JSON.stringify(text)).toBe(kind);
      });
    }
  }

  it("reads the spaced spellings people type (opt out, stop all)", () => {
    expect(smsKeyword("Opt Out")).toBe("stop");
    expect(smsKeyword("stop all")).toBe("stop");
    expect(smsKeyword("un stop")).toBe("start");
  });

  it("does not read a keyword inside a longer message", () => {
    for (const text of ["please stop", "stop it", "STOPPED", "yes please", "help me", "", "   ", "S-T-O-P"]) {
      expect(smsKeyword(text), text).toBeUndefined();
    }
  });
});

describe("twiml", () => {
  it("answers with one escaped message, or with nothing", () => {
    expect(twiml("Tom & Jerry <3")).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Tom &amp; Jerry &lt;3</Message></Response>',
    );
    expect(twiml()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  });
});

describe("authTokenOfTwilioUrl", () => {
  it("reads the password of TWILIO_URL", () => {
    expect(authTokenOfTwilioUrl("https://AC123:s%2Fecret@api.twilio.com")).toBe("s/ecret");
    expect(authTokenOfTwilioUrl(undefined)).toBeUndefined();
  });
});
