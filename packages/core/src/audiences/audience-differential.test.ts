/**
 * The compiler's main guarantee: for random worlds (contacts with mixed and wrongly typed fields, events,
 * lists, nested segments) and random rules, the compiled SQL selects exactly the contacts the reference
 * evaluator selects, and is never NULL for anyone.
 */
import type { Rule } from "@omneural/contracts/audiences";
import fc from "fast-check";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { ConsentStatus } from "../db/schema.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createWorkspace } from "../workspaces/workspace.service.ts";
import { compileRule } from "./audience-compiler.ts";
import { evaluateRule, type RefContact, type RefEvent, type RefWorld } from "./audience-evaluator.ts";
import { CONSENT_STATUSES, validateRule } from "./audience-rules.ts";

const database = useTestDatabase();

const DAY = 86_400_000;
const NOWS = [
  "2024-02-27T15:30:00.000Z",
  "2025-02-27T08:00:00.000Z",
  "2025-12-30T23:59:00.000Z",
  "2024-06-15T00:00:00.000Z",
];
const LISTS = ["0190a5b8-0000-7000-8000-00000000a001", "0190a5b8-0000-7000-8000-00000000a002"];
const SEGMENTS = [
  "0190a5b8-0000-7000-8000-00000000b001",
  "0190a5b8-0000-7000-8000-00000000b002",
  "0190a5b8-0000-7000-8000-00000000b003",
];
const CAMPAIGNS = ["0190a5b8-0000-7000-8000-00000000c001", "0190a5b8-0000-7000-8000-00000000c002"];
const EVENT_TYPES = ["purchase", "cart_abandoned", "message.clicked", "message.opened"];
// Whole-day offsets from now that rules also use, so that boundaries are hit exactly.
const GRID_DAYS = [-400, -365, -90, -31, -30, -7, -1, 0, 1, 3, 7, 10];
const WINDOW_DAYS = [0, 1, 2, 3, 7, 30, 90, 365, 366, 400];

const contactId = (i: number) => `00000000-0000-7000-8000-${(i + 1).toString(16).padStart(12, "0")}`;

/* ------------------------------------------------------------------------------------------------ */
/* Worlds                                                                                            */

interface World {
  now: Date;
  contacts: RefContact[];
  events: RefEvent[];
  lists: string[][];
  segments: Rule[];
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function instantArb(now: Date) {
  const t = now.getTime();
  return fc.oneof(
    { weight: 2, arbitrary: fc.integer({ min: -800 * DAY, max: 10 * DAY }).map((ms) => new Date(t + ms)) },
    { weight: 2, arbitrary: fc.constantFrom(...GRID_DAYS).map((d) => new Date(t + d * DAY)) },
    // Anniversaries near today, in past years.
    fc
      .tuple(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: -2, max: 10 }),
        fc.integer({ min: 0, max: DAY - 1 }),
      )
      .map(
        ([years, days, ms]) =>
          new Date(Date.UTC(now.getUTCFullYear() - years, now.getUTCMonth(), now.getUTCDate() + days) + ms),
      ),
  );
}

/** How a date attribute may be written: the shapes imports store, valid or not. */
function dateStringArb(now: Date) {
  const valid = fc
    .tuple(instantArb(now), fc.constantFrom("date", "local", "space", "z", "plus2", "minus530"))
    .map(([instant, shape]) => {
      const shift = shape === "plus2" ? 120 : shape === "minus530" ? -330 : 0;
      const w = new Date(instant.getTime() + shift * 60_000);
      const date = `${pad(w.getUTCFullYear(), 4)}-${pad(w.getUTCMonth() + 1)}-${pad(w.getUTCDate())}`;
      const time = `${pad(w.getUTCHours())}:${pad(w.getUTCMinutes())}:${pad(w.getUTCSeconds())}`;
      switch (shape) {
        case "date":
          return date;
        case "local":
          return `${date}T${time}`;
        case "space":
          return `${date} ${time.slice(0, 5)}`;
        case "z":
          return instant.toISOString();
        case "plus2":
          return `${date}T${time}.${pad(w.getUTCMilliseconds(), 3)}+02:00`;
        default:
          return `${date} ${time}-05:30`;
      }
    });
  const edge = fc.constantFrom(
    "2024-02-30",
    "2024-13-01",
    "2023-02-29",
    "not a date",
    "2000-02-29",
    "1996-02-29T10:00:00Z",
    "2024-02-29",
  );
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: edge });
}

const STRINGS = [
  "gold",
  "Gold",
  "silver",
  "",
  "gold plan",
  "100",
  "true",
  "CA",
  "x'; drop",
  'say "hi"',
  "back\\slash",
  "Zoë",
  "😀 fan",
];
const NUMBERS = [0, 1, 100, 100.5, 150, -3, 2.5, 0.1, 1e21];
const numberArb = fc.oneof(fc.constantFrom(...NUMBERS), fc.double({ min: -1000, max: 1000, noNaN: true }));

function mixedArb(now: Date): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...STRINGS),
    numberArb,
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom([1], { a: 1 }),
    dateStringArb(now),
  );
}

const favour = <T>(preferred: fc.Arbitrary<T>, other: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 3, arbitrary: preferred as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: other });

function contactArb(now: Date) {
  const mixed = mixedArb(now);
  const consent = fc.constantFrom(...CONSENT_STATUSES);
  return fc.record({
    externalShape: fc.integer({ min: 0, max: 3 }),
    emailShape: fc.integer({ min: 0, max: 3 }),
    phoneShape: fc.integer({ min: 0, max: 2 }),
    first_name: columnArb("firstName"),
    last_name: columnArb("lastName"),
    address_line1: columnArb("address.line1"),
    address_line2: columnArb("address.line2"),
    city: columnArb("address.city"),
    region: columnArb("address.region"),
    postal_code: columnArb("address.postalCode"),
    country: columnArb("address.country"),
    timezone: columnArb("timezone"),
    attributes: fc.record(
      {
        plan: favour(fc.constantFrom(...STRINGS), mixed),
        ltv: favour(numberArb, mixed),
        vip: favour(fc.boolean(), mixed),
        birthday: favour(dateStringArb(now), mixed),
        score: mixed,
      },
      { requiredKeys: [] },
    ),
    email_consent: consent,
    sms_consent: consent,
    mail_consent: consent,
    ads_consent: consent,
    created_at: instantArb(now),
    updated_at: instantArb(now),
  });
}

function eventArb(now: Date) {
  const t = now.getTime();
  return fc.record({
    contact: fc.nat(),
    type: fc.constantFrom(...EVENT_TYPES),
    properties: fc.record(
      {
        amount: favour(numberArb, fc.constantFrom("12", null, true)),
        sku: fc.constantFrom("A", "B", "a", "", 7),
        campaignId: fc.constantFrom(CAMPAIGNS[0]!, CAMPAIGNS[1]!, CAMPAIGNS[0]!.toUpperCase(), 5),
        channel: fc.constantFrom("email", "sms", "Email", 3, null),
        coupon: fc.constantFrom(true, false, "yes"),
        // The response writer's flag for a scanner's click (only a JSON true is the flag).
        machine: fc.constantFrom(true, false, "true", 1),
      },
      { requiredKeys: [] },
    ),
    occurredAt: fc.oneof(
      fc.integer({ min: -400 * DAY, max: 10 * DAY }).map((ms) => new Date(t + ms)),
      fc.constantFrom(...GRID_DAYS).map((d) => new Date(t + d * DAY)),
    ),
    // Few contacts with many events, so counts cross their thresholds.
    crowd: fc.boolean(),
  });
}

/* ------------------------------------------------------------------------------------------------ */
/* Rules                                                                                             */

/** The values each text field takes (besides NULL and ''), which rules also compare with. */
const TEXT_POOLS: Record<string, string[]> = {
  externalId: ["ext-1", "EXT-2", "ext-3", "ext-10"],
  email: ["ann1@acme.com", "ann2@acme.com", "Bob3@Example.org", "bob3@example.org"],
  phone: ["+15550000001", "+15550000002"],
  firstName: ["Ann", "ann", "Bob", "O'Brien", "Zoë", "ÉMILE"],
  lastName: ["Smith", "acme"],
  "address.line1": ["1 Main St", "22 Acme Rd"],
  "address.line2": ["Apt 4"],
  "address.city": ["Springfield", "springfield", "東京", "{a,b}"],
  "address.region": ["CA", "ca", "NY", "TX"],
  "address.postalCode": ["94110", "10001"],
  "address.country": ["US", "CA"],
  timezone: ["UTC", "America/New_York"],
};
const TEXT_FIELDS = Object.keys(TEXT_POOLS);

function columnArb(field: string) {
  return fc.constantFrom<string | null>(null, "", ...TEXT_POOLS[field]!);
}

// ASCII letters only: PostgreSQL's lower() follows the database's locale, toLowerCase() follows Unicode,
// and the two may fold other letters differently (the documented limit of caseInsensitive).
const swapCase = (s: string) =>
  [...s]
    .map((ch) => (/[a-z]/.test(ch) ? ch.toUpperCase() : /[A-Z]/.test(ch) ? ch.toLowerCase() : ch))
    .join("");

/** String conditions with values and needles drawn from what the field holds, in either case. */
function textCondition(pool: string[]) {
  const values = [...pool, "", "x'; drop"];
  const needle = fc
    .tuple(fc.constantFrom(...pool), fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 4 }), fc.boolean())
    .map(([v, fromStart, start, length, swap]) => {
      // By code points: a needle must not split a surrogate pair.
      const chars = [...v];
      const from = fromStart ? 0 : start % chars.length;
      const piece = chars.slice(from, from + length).join("") || v;
      return swap ? swapCase(piece) : piece;
    });
  return fc.oneof(
    fc.record({ op: fc.constantFrom("eq", "neq"), value: fc.constantFrom(...values) }),
    fc.record({
      op: fc.constantFrom("in", "not_in"),
      values: fc.subarray(values, { minLength: 1, maxLength: 3 }),
    }),
    fc.record(
      { op: fc.constantFrom("contains", "starts_with"), value: needle, caseInsensitive: fc.boolean() },
      { requiredKeys: ["op", "value"] },
    ),
    fc.record({ op: fc.constantFrom("exists", "empty") }),
  );
}

// One branch per operator, so each is generated as often as the others.
const numberCondition = fc.oneof(
  ...["eq", "neq", "gt", "gte", "lt", "lte"].map((op) =>
    fc.record({ op: fc.constant(op), value: numberArb }),
  ),
  fc
    .tuple(numberArb, numberArb)
    .map(([a, b]) => ({ op: "between", from: Math.min(a, b), to: Math.max(a, b) })),
  ...["in", "not_in"].map((op) =>
    fc.record({ op: fc.constant(op), values: fc.array(numberArb, { minLength: 1, maxLength: 3 }) }),
  ),
  fc.record({ op: fc.constantFrom("exists", "empty") }),
);

const booleanCondition = fc.oneof(
  fc.record({ op: fc.constant("eq"), value: fc.boolean() }),
  fc.record({ op: fc.constantFrom("exists", "empty") }),
);

function ruleDateArb(now: Date) {
  return fc.tuple(instantArb(now), fc.constantFrom(0, 120, -330)).map(([instant, offset]) => {
    if (offset === 0) return instant.toISOString();
    const w = new Date(instant.getTime() + offset * 60_000);
    const sign = offset > 0 ? "+" : "-";
    const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
    return `${w.toISOString().slice(0, -1)}${zone}`;
  });
}

function dateCondition(now: Date) {
  const date = ruleDateArb(now);
  const days = fc.constantFrom(...WINDOW_DAYS);
  return fc.oneof(
    ...["before", "after"].map((op) => fc.record({ op: fc.constant(op), value: date })),
    fc
      .tuple(date, date)
      .map(([a, b]) =>
        Date.parse(a) <= Date.parse(b)
          ? { op: "between", from: a, to: b }
          : { op: "between", from: b, to: a },
      ),
    ...["within_last_days", "more_than_days_ago", "within_next_days", "anniversary_within_next_days"].map(
      (op) => fc.record({ op: fc.constant(op), days }),
    ),
    fc.record({ op: fc.constantFrom("exists", "empty") }),
  );
}

// Mostly the key that usually holds the type, sometimes one that holds another or nothing.
const ATTRIBUTE_KEYS = {
  string: ["plan", "plan", "score", "birthday", "absent"],
  number: ["ltv", "ltv", "score", "plan", "absent"],
  boolean: ["vip", "vip", "score", "absent"],
  date: ["birthday", "birthday", "score", "plan", "absent"],
};

function fieldRuleArb(now: Date): fc.Arbitrary<Rule> {
  const attribute = (type: keyof typeof ATTRIBUTE_KEYS) =>
    fc.constantFrom(...ATTRIBUTE_KEYS[type]).map((k) => `attributes.${k}`);
  return fc.oneof(
    fc.constantFrom(...TEXT_FIELDS).chain((field) =>
      fc.record({
        kind: fc.constant("field"),
        field: fc.constant(field),
        type: fc.constant("string"),
        condition: textCondition(TEXT_POOLS[field]!),
      }),
    ),
    fc.record({
      kind: fc.constant("field"),
      field: fc.constantFrom("createdAt", "updatedAt"),
      type: fc.constant("date"),
      condition: dateCondition(now),
    }),
    fc.record({
      kind: fc.constant("field"),
      field: attribute("string"),
      type: fc.constant("string"),
      condition: textCondition(STRINGS.filter((v) => v !== "")),
    }),
    fc.record({
      kind: fc.constant("field"),
      field: attribute("number"),
      type: fc.constant("number"),
      condition: numberCondition,
    }),
    fc.record({
      kind: fc.constant("field"),
      field: attribute("boolean"),
      type: fc.constant("boolean"),
      condition: booleanCondition,
    }),
    fc.record({
      kind: fc.constant("field"),
      field: attribute("date"),
      type: fc.constant("date"),
      condition: dateCondition(now),
    }),
  ) as fc.Arbitrary<Rule>;
}

const countArb = fc.record({
  op: fc.constantFrom("at_least", "at_most", "exactly"),
  value: fc.integer({ min: 0, max: 3 }),
});
const withinArb = fc.record({ days: fc.constantFrom(1, 7, 30, 90, 365) });

const propertyFilterArb = fc.oneof(
  fc.record({
    property: fc.constant("sku"),
    type: fc.constant("string"),
    condition: textCondition(["A", "B", "a"]),
  }),
  fc.record({
    property: fc.constantFrom("channel", "amount"),
    type: fc.constant("string"),
    condition: textCondition(["email", "sms", "Email", "12"]),
  }),
  fc.record({
    property: fc.constant("campaignId"),
    type: fc.constant("string"),
    condition: textCondition([CAMPAIGNS[0]!, CAMPAIGNS[1]!, CAMPAIGNS[0]!.toUpperCase()]),
  }),
  fc.record({
    property: fc.constantFrom("amount", "sku"),
    type: fc.constant("number"),
    condition: numberCondition,
  }),
  fc.record({
    property: fc.constantFrom("coupon", "absent"),
    type: fc.constant("boolean"),
    condition: booleanCondition,
  }),
);

function leafArb(now: Date, audiences: string[]): fc.Arbitrary<Rule> {
  const event = fc.record(
    {
      kind: fc.constant("event"),
      type: fc.constantFrom(...EVENT_TYPES, "never_happens"),
      where: fc.array(propertyFilterArb, { maxLength: 2 }),
      count: countArb,
      within: withinArb,
    },
    { requiredKeys: ["kind", "type"] },
  );
  const response = fc.record(
    {
      kind: fc.constant("response"),
      response: fc.constantFrom("clicked", "opened", "received"),
      campaignId: fc.constantFrom(CAMPAIGNS[0]!, CAMPAIGNS[1]!, CAMPAIGNS[0]!.toUpperCase()),
      channel: fc.constantFrom("email", "sms"),
      within: withinArb,
      count: countArb,
    },
    { requiredKeys: ["kind", "response"] },
  );
  const channel = fc.constantFrom("email", "sms", "mail", "ads");
  const leaves = [
    { weight: 5, arbitrary: fieldRuleArb(now) },
    { weight: 3, arbitrary: event },
    { weight: 2, arbitrary: response },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("consent"),
        channel,
        status: fc.constantFrom(...CONSENT_STATUSES),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("reachable"), channel }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("list"), listId: fc.constantFrom(...LISTS) }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("audience"), audienceId: fc.constantFrom(...audiences) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("bucket"),
        salt: fc.constantFrom("a", "holdout", "x'; drop", "straße"),
        percent: fc.integer({ min: 0, max: 100 }),
      }),
    },
  ];
  return fc.oneof(...(leaves as { weight: number; arbitrary: fc.Arbitrary<Rule> }[]));
}

function ruleArb(now: Date, audiences: string[], depth: number): fc.Arbitrary<Rule> {
  const leaf = leafArb(now, audiences);
  if (depth <= 1) return leaf;
  const child = ruleArb(now, audiences, depth - 1);
  return fc.oneof(
    { weight: 2, arbitrary: leaf },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom("all", "any"), fc.array(child, { minLength: 1, maxLength: 3 }))
        .map(([kind, rules]) => ({ kind, rules }) as Rule),
    },
    { weight: 1, arbitrary: child.map((rule) => ({ kind: "not", rule }) as Rule) },
  );
}

const caseArb = fc
  .tuple(fc.constantFrom(...NOWS), fc.integer({ min: 0, max: 3 }))
  .chain(([nowText, segmentCount]) => {
    const now = new Date(nowText);
    const segments = SEGMENTS.slice(0, segmentCount);
    // Each segment refers only to the lists and the segments before it, so there are no cycles.
    const definitions = segments.map((_, i) => ruleArb(now, [...LISTS, ...segments.slice(0, i)], 2));
    return fc.record({
      now: fc.constant(now),
      // size "max": fast-check's default size would keep these arrays to a handful of items.
      contacts: fc.array(contactArb(now), { minLength: 15, maxLength: 40, size: "max" }),
      events: fc.array(eventArb(now), { maxLength: 80, size: "max" }),
      lists: fc.tuple(
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      ),
      segments: fc.tuple(...definitions),
      rules: fc.array(ruleArb(now, [...LISTS, ...segments], 3), { minLength: 1, maxLength: 4 }),
    });
  });

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** Turns generated shapes into a world: ids, unique identifiers and '' kept once per unique column. */
function buildWorld(c: Case): World {
  const shape = (n: number, forms: (string | null)[]) => forms[n % forms.length] ?? null;
  const contacts: RefContact[] = c.contacts.map((g, i) => ({
    id: contactId(i),
    external_id: shape(g.externalShape, [null, "", `ext-${i}`, `EXT-${i}`]),
    email: shape(g.emailShape, [null, "", `ann${i}@acme.com`, `Bob${i}@Example.org`]),
    phone: shape(g.phoneShape, [null, "", `+1555000${pad(i, 4)}`]),
    first_name: g.first_name,
    last_name: g.last_name,
    address_line1: g.address_line1,
    address_line2: g.address_line2,
    city: g.city,
    region: g.region,
    postal_code: g.postal_code,
    country: g.country,
    timezone: g.timezone,
    attributes: g.attributes as Record<string, unknown>,
    email_consent: g.email_consent,
    sms_consent: g.sms_consent,
    mail_consent: g.mail_consent,
    ads_consent: g.ads_consent,
    created_at: g.created_at,
    updated_at: g.updated_at,
  }));
  // external_id, email and phone are unique per workspace, '' included.
  for (const column of ["external_id", "email", "phone"] as const) {
    let seen = false;
    for (const contact of contacts) {
      if (contact[column] !== "") continue;
      if (seen) contact[column] = null;
      seen = true;
    }
  }
  const events = c.events.map((e) => ({
    contactId: contactId(e.crowd ? e.contact % 3 : e.contact % contacts.length),
    type: e.type,
    properties: e.properties as Record<string, unknown>,
    occurredAt: e.occurredAt,
  }));
  const lists = c.lists.map((flags) => contacts.filter((_, i) => flags[i]).map((contact) => contact.id));
  return { now: c.now, contacts, events, lists, segments: [...c.segments] };
}

async function insertWorld(world: World): Promise<string> {
  const { db } = database.handle;
  const { workspace } = await createWorkspace(db, { name: "Differential" });
  const ws = workspace.id;
  await db
    .insertInto("contacts")
    .values(
      world.contacts.map((c) => ({
        ...c,
        workspace_id: ws,
        attributes: JSON.stringify(c.attributes),
        email_consent: c.email_consent as ConsentStatus,
        sms_consent: c.sms_consent as ConsentStatus,
        mail_consent: c.mail_consent as ConsentStatus,
        ads_consent: c.ads_consent as ConsentStatus,
      })),
    )
    .execute();
  await db
    .insertInto("audiences")
    .values([
      ...LISTS.map((id, i) => ({
        workspace_id: ws,
        id,
        name: `list ${i}`,
        kind: "list" as const,
        definition: null,
      })),
      ...world.segments.map((definition, i) => ({
        workspace_id: ws,
        id: SEGMENTS[i]!,
        name: `segment ${i}`,
        kind: "segment" as const,
        definition: JSON.stringify(definition),
      })),
    ])
    .execute();
  const members = world.lists.flatMap((ids, i) =>
    ids.map((id) => ({ workspace_id: ws, list_id: LISTS[i]!, contact_id: id })),
  );
  if (members.length) await db.insertInto("list_members").values(members).execute();
  if (world.events.length) {
    await db
      .insertInto("events")
      .values(
        world.events.map((e, i) => ({
          workspace_id: ws,
          id: `e${i}`,
          contact_id: e.contactId,
          type: e.type,
          properties: JSON.stringify(e.properties),
          occurred_at: e.occurredAt,
        })),
      )
      .execute();
  }
  return ws;
}

function refWorld(world: World): RefWorld {
  return {
    events: world.events,
    listMembers: new Set(world.lists.flatMap((ids, i) => ids.map((id) => `${LISTS[i]}:${id}`))),
    audiences: new Map<string, { kind: "segment" | "list"; definition: Rule | null }>([
      ...LISTS.map((id) => [id, { kind: "list", definition: null }] as const),
      ...world.segments.map((definition, i) => [SEGMENTS[i]!, { kind: "segment", definition }] as const),
    ]),
  };
}

/** Compiles and runs the rule, and returns every contact whose SQL membership differs from the reference. */
async function disagreements(ws: string, world: World, rule: Rule) {
  const checked = validateRule(rule);
  if (!checked.ok) throw new Error(`the generator made an invalid rule: ${JSON.stringify(checked.errors)}`);
  const { db } = database.handle;
  const where = await compileRule(rule, {
    workspaceId: ws,
    now: world.now,
    async resolveAudience(id) {
      const row = await db
        .selectFrom("audiences")
        .select(["kind", "definition"])
        .where("workspace_id", "=", ws)
        .where("id", "=", id)
        .executeTakeFirst();
      return row && { kind: row.kind, definition: (row.definition as Rule | null) ?? null };
    },
  });
  const { rows } = await sql<{ id: string; member: boolean | null }>`
    select c.id, ${where} as member from contacts c where c.workspace_id = ${ws}`.execute(db);
  const sqlMembers = new Map(rows.map((r) => [r.id, r.member]));
  const ref = refWorld(world);
  const wrong = [];
  for (const contact of world.contacts) {
    const expected = evaluateRule(rule, contact, ref, world.now);
    const actual = sqlMembers.get(contact.id);
    if (actual !== expected) {
      wrong.push({
        sql: actual,
        reference: expected,
        contact,
        events: world.events.filter((e) => e.contactId === contact.id),
      });
    }
  }
  return wrong;
}

async function expectAgreement(world: World, rules: Rule[]) {
  const ws = await insertWorld(world);
  for (const rule of rules) {
    const wrong = await disagreements(ws, world, rule);
    if (wrong.length) {
      const report = {
        now: world.now,
        rule,
        segments: world.segments,
        lists: world.lists,
        first: wrong[0],
        disagreeing: wrong.length,
      };
      expect.fail(`SQL and reference disagree:\n${JSON.stringify(report, null, 2)}`);
    }
  }
}

describe("the compiled SQL", () => {
  it("selects exactly the contacts the reference evaluator selects", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => expectAgreement(buildWorld(c), c.rules)),
      { numRuns: 300 },
    );
  });
});
