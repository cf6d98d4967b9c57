/**
 * Which contact field a CSV column holds, by its header alone: the synonym table the server's import
 * (packages/core/src/imports/column-mapping.ts) and the web app's import preview both use, so the
 * mapping the page shows is the one the server would detect. Detection is by header name only, never by
 * peeking at values, so a mapping is predictable and the user can read it back before the import runs.
 */

export type ContactField =
  | "externalId"
  | "email"
  | "phone"
  | "firstName"
  | "lastName"
  | "fullName"
  | "address.line1"
  | "address.line2"
  | "address.city"
  | "address.region"
  | "address.postalCode"
  | "address.country"
  | "timezone"
  | "consent.email"
  | "consent.sms"
  | "consent.mail"
  | "consent.ads";

export const CONTACT_FIELDS: readonly ContactField[] = [
  "externalId",
  "email",
  "phone",
  "firstName",
  "lastName",
  "fullName",
  "address.line1",
  "address.line2",
  "address.city",
  "address.region",
  "address.postalCode",
  "address.country",
  "timezone",
  "consent.email",
  "consent.sms",
  "consent.mail",
  "consent.ads",
];

// Written as people see them; normalizeHeader() reduces both sides to letters and digits, so
// "E-mail", "e_mail" and "EMAIL" are one entry. Includes the header exports of Mailchimp,
// HubSpot, Salesforce and Shopify, and a few common German, French, Spanish and Dutch headers.
const SYNONYMS: Record<ContactField, readonly string[]> = {
  email: [
    "email",
    "e-mail",
    "email address",
    "e-mail address",
    "mail",
    "primary email",
    "work email",
    "email_address",
    "emailaddress",
    "e-mail adresse",
    "courriel",
    "adresse email",
    "correo",
    "correo electronico",
  ],
  phone: [
    "phone",
    "mobile",
    "phone number",
    "mobile phone",
    "mobile number",
    "mobile phone number",
    "cell",
    "cell phone",
    "cell number",
    "telephone",
    "telephone number",
    "tel",
    "sms",
    "sms number",
    "whatsapp",
    "whatsapp number",
    "mobilephone",
    "telefon",
    "telefonnummer",
    "handy",
    "handynummer",
    "mobilnummer",
    "portable",
    "telefono",
    "movil",
    "celular",
    "telefoonnummer",
  ],
  firstName: [
    "first name",
    "first",
    "given name",
    "fname",
    "forename",
    "firstname",
    "vorname",
    "prenom",
    "voornaam",
  ],
  lastName: [
    "last name",
    "last",
    "surname",
    "family name",
    "lname",
    "lastname",
    "nachname",
    "nom de famille",
    "apellido",
    "apellidos",
    "achternaam",
  ],
  fullName: ["name", "full name", "contact name", "customer name"],
  externalId: [
    "id",
    "external id",
    "customer id",
    "contact id",
    "user id",
    "record id",
    "crm id",
    "member id",
  ],
  "address.line1": [
    "address",
    "address 1",
    "address line 1",
    "street",
    "street address",
    "mailing street",
    "address1",
    "strasse",
    "straße",
    "adresse",
    "direccion",
    "straat",
  ],
  "address.line2": ["address 2", "address line 2", "apt", "suite", "unit", "address2"],
  "address.city": [
    "city",
    "town",
    "locality",
    "mailing city",
    "ort",
    "stadt",
    "ville",
    "ciudad",
    "woonplaats",
    "plaats",
  ],
  "address.region": [
    "state",
    "region",
    "province",
    "county",
    "state/region",
    "state/province",
    "mailing state",
    "state code",
    "province code",
    "mailing state code",
    "bundesland",
    "provincia",
  ],
  "address.postalCode": [
    "zip",
    "zip code",
    "zipcode",
    "postal code",
    "postcode",
    "post code",
    "zip/postal code",
    "mailing zip/postal code",
    "mailing postal code",
    "mailing zip",
    "plz",
    "postleitzahl",
    "code postal",
    "codigo postal",
  ],
  "address.country": [
    "country",
    "country code",
    "country/region",
    "mailing country",
    "mailing country code",
    "land",
    "pays",
    "pais",
  ],
  timezone: ["timezone", "time zone", "tz"],
  "consent.email": [
    "email opt in",
    "email opt-in",
    "email consent",
    "subscribed",
    "email subscribed",
    "accepts email marketing",
    "email marketing consent",
    "email marketing",
  ],
  "consent.sms": [
    "sms opt in",
    "sms opt-in",
    "sms consent",
    "accepts sms marketing",
    "sms marketing consent",
    "text opt in",
    "sms marketing",
  ],
  "consent.mail": ["mail opt in", "direct mail opt in", "postal opt in", "mail consent"],
  "consent.ads": ["ads opt in", "ads consent", "ad consent", "advertising consent"],
};

// Prefixes that don't change what a column holds: "Work Phone", "Customer Email", "Home Phone".
const GENERAL_PREFIXES = ["contact", "customer", "primary", "personal", "work", "home", "main"];
// Prefixes that only qualify an address: Shopify's "Default Address City", Salesforce's
// "MailingPostalCode". Shopify's "Default Address Phone" is the address's phone, not the
// customer's (that is "Phone", which "Accepts SMS Marketing" refers to), so it must not match.
const ADDRESS_PREFIXES = ["defaultaddress", "mailing", "postal", "home"];

const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]+/gu;
const COMBINING_MARKS = /\p{M}+/gu;

/** Lower-case letters and digits only: "E-Mail Address" -> "emailaddress". */
export function normalizeHeader(header: string): string {
  return header.toLowerCase().normalize("NFD").replace(COMBINING_MARKS, "").replace(NOT_LETTER_OR_DIGIT, "");
}

const synonymIndex = (() => {
  const index = new Map<string, ContactField>();
  for (const field of CONTACT_FIELDS) {
    for (const synonym of SYNONYMS[field]) {
      const key = normalizeHeader(synonym);
      const existing = index.get(key);
      if (existing !== undefined && existing !== field) {
        throw new Error(`column-mapping: "${synonym}" is listed for both ${existing} and ${field}`);
      }
      index.set(key, field);
    }
  }
  return index;
})();

/** The contact field a header names, if any. */
export function detectField(header: string): ContactField | undefined {
  const key = normalizeHeader(header);
  if (key === "") return undefined;
  const field = synonymIndex.get(key);
  if (field !== undefined) return field;
  for (const prefix of ADDRESS_PREFIXES) {
    if (key.length > prefix.length && key.startsWith(prefix)) {
      const inner = synonymIndex.get(key.slice(prefix.length));
      if (inner?.startsWith("address.")) return inner;
    }
  }
  for (const prefix of GENERAL_PREFIXES) {
    if (key.length > prefix.length && key.startsWith(prefix)) {
      const inner = synonymIndex.get(key.slice(prefix.length));
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/**
 * Turns a CSV header into an attribute key: "Lifetime Value ($)" -> "lifetime_value",
 * "2024 Spend" -> "_2024_spend", "MailingStreet" -> "mailing_street". Returns `fallback` when
 * nothing usable is left (a header of only symbols or of non-Latin script). The server's import and
 * the web app's preview both use it, so the key the page shows is the one the import stores.
 */
export function toAttributeKey(header: string, fallback = "attribute"): string {
  let key = header
    .normalize("NFD")
    .replace(COMBINING_MARKS, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (key === "") return fallback;
  if (key.charCodeAt(0) <= 57) key = `_${key}`;
  if (key.length > 64) key = key.slice(0, 64).replace(/_+$/, "");
  return key;
}
