import { describe, expect, it } from "vitest";
import {
  type ColumnMapping,
  type ColumnTarget,
  detectColumnMapping,
  detectField,
  hasIdentifierColumn,
  headerLooksLikeData,
  normalizeHeader,
} from "./column-mapping.ts";

/** "header -> target" lines, easy to read in a failing assertion. */
function describeColumns(columns: ColumnMapping[]): string[] {
  return columns.map((column) => `${column.header} -> ${describeTarget(column.target)}`);
}

function describeTarget(target: ColumnTarget): string {
  if (target.kind === "field") return target.field;
  if (target.kind === "attribute") return `attributes.${target.key}`;
  return "ignore";
}

describe("normalizeHeader", () => {
  it.each([
    ["E-Mail Address", "emailaddress"],
    ["email_address", "emailaddress"],
    [" State/Region ", "stateregion"],
    ["Zip/Postal Code", "zippostalcode"],
    ["Prénom", "prenom"],
  ])("reduces %j to %j", (header, key) => {
    expect(normalizeHeader(header)).toBe(key);
  });
});

describe("detectField", () => {
  it.each([
    ["email", "email"],
    ["E-mail", "email"],
    ["Email Address", "email"],
    ["e-mail address", "email"],
    ["Mail", "email"],
    ["Primary Email", "email"],
    ["Work Email", "email"],
    ["email_address", "email"],
    ["Customer Email", "email"],
    ["phone", "phone"],
    ["Mobile", "phone"],
    ["Phone Number", "phone"],
    ["Mobile Phone", "phone"],
    ["Mobile Number", "phone"],
    ["Cell", "phone"],
    ["Cell Phone", "phone"],
    ["Telephone", "phone"],
    ["Tel", "phone"],
    ["SMS", "phone"],
    ["SMS Number", "phone"],
    ["WhatsApp", "phone"],
    ["Home Phone", "phone"],
    ["First Name", "firstName"],
    ["first", "firstName"],
    ["Given Name", "firstName"],
    ["fname", "firstName"],
    ["Forename", "firstName"],
    ["firstname", "firstName"],
    ["Last Name", "lastName"],
    ["Last", "lastName"],
    ["Surname", "lastName"],
    ["Family Name", "lastName"],
    ["lname", "lastName"],
    ["Name", "fullName"],
    ["Full Name", "fullName"],
    ["Contact Name", "fullName"],
    ["ID", "externalId"],
    ["External ID", "externalId"],
    ["Customer ID", "externalId"],
    ["Contact Id", "externalId"],
    ["user_id", "externalId"],
    ["Record ID", "externalId"],
    ["CRM ID", "externalId"],
    ["Member ID", "externalId"],
    ["Address", "address.line1"],
    ["Address 1", "address.line1"],
    ["Address Line 1", "address.line1"],
    ["Street", "address.line1"],
    ["Street Address", "address.line1"],
    ["address1", "address.line1"],
    ["Address 2", "address.line2"],
    ["Address Line 2", "address.line2"],
    ["Apt", "address.line2"],
    ["Suite", "address.line2"],
    ["Unit", "address.line2"],
    ["City", "address.city"],
    ["Town", "address.city"],
    ["Locality", "address.city"],
    ["State", "address.region"],
    ["Region", "address.region"],
    ["Province", "address.region"],
    ["County", "address.region"],
    ["State/Region", "address.region"],
    ["State/Province", "address.region"],
    ["Zip", "address.postalCode"],
    ["ZIP Code", "address.postalCode"],
    ["zipcode", "address.postalCode"],
    ["Postal Code", "address.postalCode"],
    ["Postcode", "address.postalCode"],
    ["Post Code", "address.postalCode"],
    ["Zip/Postal Code", "address.postalCode"],
    ["Mailing Zip/Postal Code", "address.postalCode"],
    ["Country", "address.country"],
    ["Country Code", "address.country"],
    ["Country/Region", "address.country"],
    ["Timezone", "timezone"],
    ["Time Zone", "timezone"],
    ["TZ", "timezone"],
    ["Email Opt In", "consent.email"],
    ["Email Opt-In", "consent.email"],
    ["Email Consent", "consent.email"],
    ["Subscribed", "consent.email"],
    ["Email Subscribed", "consent.email"],
    ["Email Marketing Consent", "consent.email"],
    ["SMS Opt In", "consent.sms"],
    ["SMS Consent", "consent.sms"],
    ["SMS Marketing Consent", "consent.sms"],
    ["Text Opt In", "consent.sms"],
  ])("maps %j to %s", (header, field) => {
    expect(detectField(header)).toBe(field);
  });

  it.each([
    "Notes",
    "Tags",
    "Total Spent",
    "Company",
    "Email 2",
    "Default Address Phone",
    "HasOptedOutOfEmail",
    "",
    "  ",
  ])("leaves %j unmapped", (header) => {
    expect(detectField(header)).toBeUndefined();
  });
});

describe("detectColumnMapping", () => {
  it("maps a Mailchimp audience export", () => {
    const headers = [
      "Email Address",
      "First Name",
      "Last Name",
      "Address",
      "Phone Number",
      "MEMBER_RATING",
      "OPTIN_TIME",
    ];
    const { columns, errors, warnings } = detectColumnMapping(headers);
    expect(describeColumns(columns)).toEqual([
      "Email Address -> email",
      "First Name -> firstName",
      "Last Name -> lastName",
      "Address -> address.line1",
      "Phone Number -> phone",
      "MEMBER_RATING -> attributes.member_rating",
      "OPTIN_TIME -> attributes.optin_time",
    ]);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(columns.every((column, index) => column.index === index && column.detected)).toBe(true);
  });

  it("maps a HubSpot contacts export", () => {
    const headers = [
      "Record ID",
      "First Name",
      "Last Name",
      "Email",
      "Mobile Phone Number",
      "Street Address",
      "City",
      "State/Region",
      "Postal Code",
      "Country/Region",
    ];
    expect(describeColumns(detectColumnMapping(headers).columns)).toEqual([
      "Record ID -> externalId",
      "First Name -> firstName",
      "Last Name -> lastName",
      "Email -> email",
      "Mobile Phone Number -> phone",
      "Street Address -> address.line1",
      "City -> address.city",
      "State/Region -> address.region",
      "Postal Code -> address.postalCode",
      "Country/Region -> address.country",
    ]);
  });

  it("maps a Salesforce contacts export", () => {
    const headers = [
      "Id",
      "FirstName",
      "LastName",
      "Email",
      "MobilePhone",
      "MailingStreet",
      "MailingCity",
      "MailingState",
      "MailingPostalCode",
      "MailingCountry",
      "HasOptedOutOfEmail",
    ];
    expect(describeColumns(detectColumnMapping(headers).columns)).toEqual([
      "Id -> externalId",
      "FirstName -> firstName",
      "LastName -> lastName",
      "Email -> email",
      "MobilePhone -> phone",
      "MailingStreet -> address.line1",
      "MailingCity -> address.city",
      "MailingState -> address.region",
      "MailingPostalCode -> address.postalCode",
      "MailingCountry -> address.country",
      // Opted *out*: mapping it to consent would invert its meaning.
      "HasOptedOutOfEmail -> attributes.has_opted_out_of_email",
    ]);
  });

  it("maps a Shopify customers export, keeping the address's phone apart from the customer's", () => {
    const headers = [
      "Customer ID",
      "First Name",
      "Last Name",
      "Email",
      "Accepts Email Marketing",
      "Default Address Company",
      "Default Address Address1",
      "Default Address Address2",
      "Default Address City",
      "Default Address Province Code",
      "Default Address Country Code",
      "Default Address Zip",
      "Default Address Phone",
      "Phone",
      "Accepts SMS Marketing",
      "Total Spent",
      "Tags",
    ];
    const { columns, errors, warnings } = detectColumnMapping(headers);
    expect(describeColumns(columns)).toEqual([
      "Customer ID -> externalId",
      "First Name -> firstName",
      "Last Name -> lastName",
      "Email -> email",
      "Accepts Email Marketing -> consent.email",
      "Default Address Company -> attributes.default_address_company",
      "Default Address Address1 -> address.line1",
      "Default Address Address2 -> address.line2",
      "Default Address City -> address.city",
      "Default Address Province Code -> address.region",
      "Default Address Country Code -> address.country",
      "Default Address Zip -> address.postalCode",
      "Default Address Phone -> attributes.default_address_phone",
      "Phone -> phone",
      "Accepts SMS Marketing -> consent.sms",
      "Total Spent -> attributes.total_spent",
      "Tags -> attributes.tags",
    ]);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("applies overrides by exact or case-insensitive header and marks them as not detected", () => {
    const headers = ["E-Mail Adresse", "Kundennummer", "Notes", "Phone"];
    const { columns, errors } = detectColumnMapping(headers, {
      "E-Mail Adresse": "email",
      kundennummer: "externalId",
      NOTES: "attributes.remarks",
      Phone: "ignore",
    });
    expect(errors).toEqual([]);
    expect(describeColumns(columns)).toEqual([
      "E-Mail Adresse -> email",
      "Kundennummer -> externalId",
      "Notes -> attributes.remarks",
      "Phone -> ignore",
    ]);
    expect(columns.map((column) => column.detected)).toEqual([false, false, false, false]);
  });

  it("accepts address parts without the address. prefix and field names in any case", () => {
    const { columns, errors } = detectColumnMapping(["Ort", "PLZ code", "Zone"], {
      Ort: "City",
      "PLZ code": "address.postalcode",
      Zone: "TIMEZONE",
    });
    expect(errors).toEqual([]);
    expect(describeColumns(columns)).toEqual([
      "Ort -> address.city",
      "PLZ code -> address.postalCode",
      "Zone -> timezone",
    ]);
  });

  it("reports overrides naming an unknown header or an unknown target", () => {
    const { columns, errors } = detectColumnMapping(["Email", "Notes"], {
      Missing: "phone",
      Notes: "comments",
      Email: "attributes.not valid",
    });
    expect(errors).toHaveLength(3);
    expect(errors[0]).toContain('"Missing"');
    expect(errors[0]).toContain("doesn't have");
    expect(errors[1]).toContain('unknown target "comments"');
    expect(errors[2]).toContain('unknown target "attributes.not valid"');
    // The rejected overrides leave detection in place.
    expect(describeColumns(columns)).toEqual(["Email -> email", "Notes -> attributes.notes"]);
  });

  it("keeps the first detected column for a field and makes later ones attributes", () => {
    const { columns, errors, warnings } = detectColumnMapping([
      "Phone Number",
      "Mobile Phone Number",
      "Email",
    ]);
    expect(errors).toEqual([]);
    expect(describeColumns(columns)).toEqual([
      "Phone Number -> phone",
      "Mobile Phone Number -> attributes.mobile_phone_number",
      "Email -> email",
    ]);
    expect(warnings).toEqual([
      '"Mobile Phone Number" also looks like phone, which "Phone Number" fills; it is kept as an attribute',
    ]);
  });

  it("lets an override take a field from a detected column, whatever the order", () => {
    const { columns, errors } = detectColumnMapping(["Email", "Work Email 2"], { "Work Email 2": "email" });
    expect(errors).toEqual([]);
    expect(describeColumns(columns)).toEqual(["Email -> attributes.email", "Work Email 2 -> email"]);
    expect(columns.map((column) => column.detected)).toEqual([true, false]);
  });

  it("reports two overrides sending columns to the same field", () => {
    const { columns, errors } = detectColumnMapping(["A", "B"], { A: "email", B: "email" });
    expect(errors).toEqual(['the mapping sends both "A" and "B" to email; choose one']);
    expect(describeColumns(columns)).toEqual(["A -> email", "B -> ignore"]);
  });

  it("reports two overrides sending columns to the same attribute", () => {
    const { errors } = detectColumnMapping(["Email", "A", "B"], { A: "attributes.x", B: "attributes.x" });
    expect(errors).toEqual(['the mapping sends both "A" and "B" to attributes.x; choose one']);
  });

  it("suffixes duplicate attribute keys with _2, _3", () => {
    const { columns, errors, warnings } = detectColumnMapping(
      ["Email", "Notes", "notes", "NOTES!", "Remarks"],
      {
        Remarks: "attributes.notes_2",
      },
    );
    expect(errors).toEqual([]);
    expect(describeColumns(columns)).toEqual([
      "Email -> email",
      "Notes -> attributes.notes",
      "notes -> attributes.notes_3",
      "NOTES! -> attributes.notes_4",
      "Remarks -> attributes.notes_2",
    ]);
    expect(warnings).toHaveLength(2);
  });

  it("keeps suffixed keys within 64 characters", () => {
    const long = "x".repeat(70);
    const { columns } = detectColumnMapping(["Email", long, `${long}!`]);
    const keys = columns.flatMap((column) => (column.target.kind === "attribute" ? [column.target.key] : []));
    expect(keys).toEqual(["x".repeat(64), `${"x".repeat(62)}_2`]);
  });

  it("names empty header cells column_<n>, which overrides can refer to", () => {
    const { columns, errors, warnings } = detectColumnMapping(["Email", "", "  ", "€"], {
      column_3: "phone",
    });
    expect(errors).toEqual([]);
    expect(describeColumns(columns)).toEqual([
      "Email -> email",
      "column_2 -> attributes.column_2",
      "column_3 -> phone",
      "€ -> attributes.column_4",
    ]);
    expect(warnings).toEqual([
      'column 2 has no header, so it is called "column_2"',
      'column 3 has no header, so it is called "column_3"',
    ]);
  });
});

describe("hasIdentifierColumn", () => {
  it.each([
    [["Email"], true],
    [["Phone"], true],
    [["Customer ID"], true],
    [["First Name", "Notes"], false],
    [[], false],
  ])("for %j is %s", (headers, expected) => {
    expect(hasIdentifierColumn(detectColumnMapping(headers).columns)).toBe(expected);
  });

  it("sees identifiers chosen by overrides and ignores ignored ones", () => {
    expect(hasIdentifierColumn(detectColumnMapping(["Kunde"], { Kunde: "externalId" }).columns)).toBe(true);
    expect(hasIdentifierColumn(detectColumnMapping(["Email"], { Email: "ignore" }).columns)).toBe(false);
  });
});

describe("headerLooksLikeData", () => {
  it.each([
    [["jane@example.com", "Jane", "Doe"], '"jane@example.com" is an email address'],
    [["Jane", "+1 (415) 555-2671"], '"+1 (415) 555-2671" looks like a phone number'],
    [["Jane", "07400 123456"], '"07400 123456" looks like a phone number'],
    [["Jane", "42.50"], '"42.50" is a number'],
    [["x", "-7"], '"-7" is a number'],
  ])("spots data in %j", (headers, reason) => {
    expect(headerLooksLikeData(headers)).toBe(reason);
  });

  it.each([
    [["Email", "jane@example.com"]],
    [["Name", "42"]],
    [["Kunde", "Umsatz", "2024"]],
    [["Notes", "Tags"]],
    [["", ""]],
    [[]],
  ])("accepts %j as a header row", (headers) => {
    expect(headerLooksLikeData(headers)).toBeUndefined();
  });
});
