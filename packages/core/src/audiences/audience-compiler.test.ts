import { createHash } from "node:crypto";
import type { RESPONSES, Rule } from "@omneural/contracts/audiences";
import type { Insertable } from "kysely";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { ContactsTable } from "../db/schema.ts";
import { uuidv7 } from "../shared/ids.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createWorkspace } from "../workspaces/workspace.service.ts";
import {
  AudienceCompileError,
  anniversaryKeys,
  type CompileContext,
  compileRule,
} from "./audience-compiler.ts";

const database = useTestDatabase();
const NOW = new Date("2025-06-15T12:00:00Z");
const DAY = 86_400_000;

type ContactInput = Omit<Insertable<ContactsTable>, "workspace_id" | "id" | "attributes"> & {
  attributes?: Record<string, unknown>;
};

async function newWorkspace(name: string) {
  const { workspace } = await createWorkspace(database.handle.db, { name });
  return workspace.id;
}

async function addContact(workspaceId: string, input: ContactInput = {}, id = uuidv7()) {
  await database.handle.db
    .insertInto("contacts")
    .values({
      ...input,
      workspace_id: workspaceId,
      id,
      attributes: JSON.stringify(input.attributes ?? {}),
      created_at: input.created_at ?? new Date("2020-01-01T00:00:00Z"),
      updated_at: input.updated_at ?? new Date("2020-01-01T00:00:00Z"),
    })
    .execute();
  return id;
}

async function addEvent(
  workspaceId: string,
  contactId: string,
  type: string,
  occurredAt: Date,
  properties: Record<string, unknown> = {},
) {
  await database.handle.db
    .insertInto("events")
    .values({
      workspace_id: workspaceId,
      id: uuidv7(),
      contact_id: contactId,
      type,
      properties: JSON.stringify(properties),
      occurred_at: occurredAt,
    })
    .execute();
}

async function addAudience(
  workspaceId: string,
  kind: "segment" | "list",
  definition: Rule | null,
  id = uuidv7(),
) {
  await database.handle.db
    .insertInto("audiences")
    .values({
      workspace_id: workspaceId,
      id,
      name: `audience ${id}`,
      kind,
      definition: definition ? JSON.stringify(definition) : null,
    })
    .execute();
  return id;
}

async function addToList(workspaceId: string, listId: string, ...contactIds: string[]) {
  await database.handle.db
    .insertInto("list_members")
    .values(
      contactIds.map((contactId) => ({ workspace_id: workspaceId, list_id: listId, contact_id: contactId })),
    )
    .execute();
}

function context(workspaceId: string, extra: Partial<CompileContext> = {}): CompileContext {
  return {
    workspaceId,
    now: NOW,
    async resolveAudience(id) {
      const row = await database.handle.db
        .selectFrom("audiences")
        .select(["kind", "definition"])
        .where("workspace_id", "=", workspaceId)
        .where("id", "=", id)
        .executeTakeFirst();
      return row && { kind: row.kind, definition: (row.definition as Rule | null) ?? null };
    },
    ...extra,
  };
}

/** The ids the compiled rule selects in the workspace, and a check that it is never NULL for anyone. */
async function members(workspaceId: string, rule: Rule, extra: Partial<CompileContext> = {}) {
  const where = await compileRule(rule, context(workspaceId, extra));
  const { rows } = await sql<{ id: string; member: boolean | null }>`
    select c.id, ${where} as member from contacts c where c.workspace_id = ${workspaceId} order by c.id`.execute(
    database.handle.db,
  );
  for (const row of rows) expect(row.member, `membership of ${row.id} is NULL`).not.toBeNull();
  return rows.filter((r) => r.member).map((r) => r.id);
}

const field = (f: string, type: "string" | "number" | "boolean" | "date", condition: object) =>
  ({ kind: "field", field: f, type, condition }) as Rule;
const response = (r: (typeof RESPONSES)[number], rest: object = {}) =>
  ({ kind: "response", response: r, ...rest }) as Rule;
const not = (rule: Rule): Rule => ({ kind: "not", rule });
const all = (...rules: Rule[]): Rule => ({ kind: "all", rules });
const any = (...rules: Rule[]): Rule => ({ kind: "any", rules });

describe("compileRule", () => {
  describe("on text fields", () => {
    let ws: string;
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      ws = await newWorkspace("Text fields");
      ids.ca = await addContact(ws, { region: "CA", email: "Ann@Acme.com" });
      ids.lower = await addContact(ws, { region: "ca", email: "bob@other.org" });
      ids.ny = await addContact(ws, { region: "NY" });
      ids.none = await addContact(ws, { region: null });
      ids.blank = await addContact(ws, { region: "" });
    });

    it("compares eq exactly and counts NULL and '' as missing", async () => {
      expect(await members(ws, field("address.region", "string", { op: "eq", value: "CA" }))).toEqual([
        ids.ca,
      ]);
      expect(await members(ws, field("address.region", "string", { op: "eq", value: "" }))).toEqual([]);
    });

    it("treats a missing region as not equal", async () => {
      const found = await members(ws, field("address.region", "string", { op: "neq", value: "CA" }));
      expect(found.sort()).toEqual([ids.lower, ids.ny, ids.none, ids.blank].sort());
      expect(await members(ws, not(field("address.region", "string", { op: "eq", value: "CA" })))).toEqual(
        found,
      );
    });

    it("matches in and not_in, with not_in true for missing values", async () => {
      expect(
        await members(ws, field("address.region", "string", { op: "in", values: ["CA", "NY", ""] })),
      ).toEqual([ids.ca, ids.ny].sort());
      expect(
        await members(ws, field("address.region", "string", { op: "not_in", values: ["CA", "NY"] })),
      ).toEqual([ids.lower, ids.none, ids.blank].sort());
    });

    it("matches contains and starts_with case-sensitively unless asked not to", async () => {
      expect(await members(ws, field("email", "string", { op: "contains", value: "@acme." }))).toEqual([]);
      expect(
        await members(
          ws,
          field("email", "string", { op: "contains", value: "@acme.", caseInsensitive: true }),
        ),
      ).toEqual([ids.ca]);
      expect(await members(ws, field("email", "string", { op: "starts_with", value: "Ann" }))).toEqual([
        ids.ca,
      ]);
      expect(await members(ws, field("email", "string", { op: "starts_with", value: "ann" }))).toEqual([]);
      expect(
        await members(
          ws,
          field("email", "string", { op: "starts_with", value: "ANN", caseInsensitive: true }),
        ),
      ).toEqual([ids.ca]);
    });

    it("says a text field exists when it is neither NULL nor ''", async () => {
      expect(await members(ws, field("address.region", "string", { op: "exists" }))).toEqual(
        [ids.ca, ids.lower, ids.ny].sort(),
      );
      expect(await members(ws, field("address.region", "string", { op: "empty" }))).toEqual(
        [ids.none, ids.blank].sort(),
      );
    });

    it("reads every contact field from its column", async () => {
      const wsFields = await newWorkspace("Every field");
      const columns = {
        externalId: "external_id",
        email: "email",
        phone: "phone",
        firstName: "first_name",
        lastName: "last_name",
        "address.line1": "address_line1",
        "address.line2": "address_line2",
        "address.city": "city",
        "address.region": "region",
        "address.postalCode": "postal_code",
        "address.country": "country",
        timezone: "timezone",
      } as const;
      const byField: Record<string, string> = {};
      for (const [name, column] of Object.entries(columns)) {
        byField[name] = await addContact(wsFields, { [column]: `value of ${column}` });
      }
      for (const [name, column] of Object.entries(columns)) {
        const rule = field(name, "string", { op: "eq", value: `value of ${column}` });
        expect(await members(wsFields, rule), name).toEqual([byField[name]]);
      }
    });
  });

  describe("on attributes", () => {
    let ws: string;
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      ws = await newWorkspace("Attributes");
      ids.rich = await addContact(ws, {
        attributes: { ltv: 150, plan: "gold", vip: true, birthday: "1990-06-20" },
      });
      ids.edge = await addContact(ws, {
        attributes: { ltv: 100, plan: "", vip: false, birthday: "2024-02-30" },
      });
      ids.text = await addContact(ws, {
        attributes: { ltv: "150", plan: 3, vip: "true", birthday: 19900620 },
      });
      ids.nulls = await addContact(ws, { attributes: { ltv: null, plan: null, vip: null, birthday: null } });
      ids.none = await addContact(ws, {});
    });

    it("treats a missing attribute as not equal", async () => {
      expect(await members(ws, field("attributes.plan", "string", { op: "neq", value: "gold" }))).toEqual(
        [ids.edge, ids.text, ids.nulls, ids.none].sort(),
      );
      expect(await members(ws, field("attributes.plan", "string", { op: "eq", value: "gold" }))).toEqual([
        ids.rich,
      ]);
    });

    it("counts an empty string attribute as present", async () => {
      expect(await members(ws, field("attributes.plan", "string", { op: "exists" }))).toEqual(
        [ids.rich, ids.edge].sort(),
      );
      expect(await members(ws, field("attributes.plan", "string", { op: "eq", value: "" }))).toEqual([
        ids.edge,
      ]);
    });

    it("compares numbers only when the attribute is a JSON number", async () => {
      expect(await members(ws, field("attributes.ltv", "number", { op: "gt", value: 100 }))).toEqual([
        ids.rich,
      ]);
      expect(await members(ws, field("attributes.ltv", "number", { op: "gte", value: 100 }))).toEqual(
        [ids.rich, ids.edge].sort(),
      );
      expect(await members(ws, field("attributes.ltv", "number", { op: "lt", value: 150 }))).toEqual([
        ids.edge,
      ]);
      expect(await members(ws, field("attributes.ltv", "number", { op: "lte", value: 150 }))).toEqual(
        [ids.rich, ids.edge].sort(),
      );
      expect(
        await members(ws, field("attributes.ltv", "number", { op: "between", from: 100, to: 150 })),
      ).toEqual([ids.rich, ids.edge].sort());
      expect(await members(ws, field("attributes.ltv", "number", { op: "in", values: [150, 7] }))).toEqual([
        ids.rich,
      ]);
      expect(await members(ws, field("attributes.ltv", "number", { op: "not_in", values: [150] }))).toEqual(
        [ids.edge, ids.text, ids.nulls, ids.none].sort(),
      );
      expect(await members(ws, field("attributes.ltv", "number", { op: "empty" }))).toEqual(
        [ids.text, ids.nulls, ids.none].sort(),
      );
    });

    it("compares booleans only when the attribute is a JSON boolean", async () => {
      expect(await members(ws, field("attributes.vip", "boolean", { op: "eq", value: true }))).toEqual([
        ids.rich,
      ]);
      expect(await members(ws, field("attributes.vip", "boolean", { op: "eq", value: false }))).toEqual([
        ids.edge,
      ]);
      expect(await members(ws, field("attributes.vip", "boolean", { op: "exists" }))).toEqual(
        [ids.rich, ids.edge].sort(),
      );
    });

    it("reads dates from strings PostgreSQL can cast and treats the rest as missing", async () => {
      expect(await members(ws, field("attributes.birthday", "date", { op: "exists" }))).toEqual([ids.rich]);
      expect(
        await members(
          ws,
          field("attributes.birthday", "date", { op: "before", value: "1990-06-20T00:00:01Z" }),
        ),
      ).toEqual([ids.rich]);
      expect(
        await members(
          ws,
          field("attributes.birthday", "date", { op: "after", value: "1990-06-20T00:00:00Z" }),
        ),
      ).toEqual([]);
    });

    it("finds birthdays within the next days, today included", async () => {
      const rule = (days: number) =>
        field("attributes.birthday", "date", { op: "anniversary_within_next_days", days });
      expect(await members(ws, rule(4))).toEqual([]);
      expect(await members(ws, rule(5))).toEqual([ids.rich]);
    });
  });

  describe("on dates", () => {
    it("compares createdAt with instants and windows around now", async () => {
      const ws = await newWorkspace("Dates");
      const at = (ms: number) => new Date(NOW.getTime() + ms);
      const old = await addContact(ws, { created_at: at(-100 * DAY) });
      const edge = await addContact(ws, { created_at: at(-30 * DAY) });
      const recent = await addContact(ws, { created_at: at(-DAY) });
      const future = await addContact(ws, { created_at: at(3 * DAY) });
      const created = (condition: object) => members(ws, field("createdAt", "date", condition));
      expect(await created({ op: "within_last_days", days: 30 })).toEqual([edge, recent]);
      expect(await created({ op: "more_than_days_ago", days: 30 })).toEqual([old]);
      expect(await created({ op: "within_next_days", days: 3 })).toEqual([future]);
      expect(await created({ op: "before", value: at(-30 * DAY).toISOString() })).toEqual([old]);
      expect(await created({ op: "after", value: at(-DAY).toISOString() })).toEqual([future]);
      expect(
        await created({ op: "between", from: at(-30 * DAY).toISOString(), to: at(-DAY).toISOString() }),
      ).toEqual([edge, recent]);
      expect(
        await created({ op: "between", from: "2025-05-16T14:00:00+02:00", to: "2025-05-16T12:00:00Z" }),
      ).toEqual([edge]);
      expect(await created({ op: "exists" })).toHaveLength(4);
      expect(await created({ op: "empty" })).toEqual([]);
    });

    it("counts Feb 29 as Feb 28 in years without it", async () => {
      const ws = await newWorkspace("Leap days");
      const leap = await addContact(ws, { attributes: { birthday: "2000-02-29" } });
      const march = await addContact(ws, { attributes: { birthday: "2001-03-01T08:00:00Z" } });
      const rule = (days: number) =>
        field("attributes.birthday", "date", { op: "anniversary_within_next_days", days });
      const feb27 = { now: new Date("2025-02-27T23:00:00Z") };
      expect(await members(ws, rule(0), feb27)).toEqual([]);
      expect(await members(ws, rule(1), feb27)).toEqual([leap]);
      expect(await members(ws, rule(2), feb27)).toEqual([leap, march]);
      // In a leap year Feb 29 is itself.
      expect(await members(ws, rule(0), { now: new Date("2024-02-28T00:00:00Z") })).toEqual([]);
      expect(await members(ws, rule(1), { now: new Date("2024-02-28T00:00:00Z") })).toEqual([leap]);
      expect(await members(ws, rule(0), { now: new Date("2024-02-29T00:00:00Z") })).toEqual([leap]);
      // Passed this year: next year's.
      expect(await members(ws, rule(363), { now: new Date("2025-03-02T00:00:00Z") })).toEqual([leap]);
      expect(await members(ws, rule(362), { now: new Date("2025-03-02T00:00:00Z") })).toEqual([]);
    });

    it("reads instants the same whatever the session's time zone", async () => {
      const ws = await newWorkspace("Time zones");
      const late = await addContact(ws, {
        created_at: new Date("2024-06-15T23:30:00Z"),
        attributes: { renewal: "2025-06-16T01:30:00+02:00", plain: "2025-06-15" },
      });
      const rules = [
        field("createdAt", "date", { op: "anniversary_within_next_days", days: 0 }),
        field("attributes.renewal", "date", { op: "before", value: "2025-06-15T23:30:01Z" }),
        field("attributes.renewal", "date", { op: "anniversary_within_next_days", days: 0 }),
      ];
      const { db } = database.handle;
      for (const rule of rules) {
        const where = await compileRule(rule, context(ws));
        const count = (zone: string) =>
          db.transaction().execute(async (trx) => {
            await sql`select set_config('TimeZone', ${zone}, true)`.execute(trx);
            const { rows } = await sql<{ id: string }>`
              select c.id from contacts c where c.workspace_id = ${ws} and ${where}`.execute(trx);
            return rows.map((r) => r.id);
          });
        expect(await count("UTC"), JSON.stringify(rule)).toEqual([late]);
        expect(await count("Pacific/Kiritimati"), JSON.stringify(rule)).toEqual([late]);
        expect(await count("America/Los_Angeles"), JSON.stringify(rule)).toEqual([late]);
      }
      // Offset-less strings are read by omneural_try_timestamptz in the session's zone; sessions run in UTC.
      const { rows } = await sql<{ zone: string }>`select current_setting('TimeZone') as zone`.execute(db);
      expect(rows[0]!.zone).toMatch(/^(Etc\/)?UTC$/);
      const midnight = { op: "between", from: "2025-06-15T00:00:00Z", to: "2025-06-15T00:00:00Z" };
      expect(await members(ws, field("attributes.plain", "date", midnight))).toEqual([late]);
    });

    it("lists the month-days of an anniversary window", () => {
      expect(anniversaryKeys(new Date("2025-12-30T10:00:00Z"), 3)).toEqual(["0101", "0102", "1230", "1231"]);
      expect(anniversaryKeys(new Date("2025-02-27T10:00:00Z"), 1)).toEqual(["0227", "0228", "0229"]);
      expect(anniversaryKeys(new Date("2025-02-27T10:00:00Z"), 36_500)).toHaveLength(366);
    });
  });

  describe("on events", () => {
    let ws: string;
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      ws = await newWorkspace("Events");
      ids.none = await addContact(ws);
      ids.once = await addContact(ws);
      ids.twice = await addContact(ws);
      ids.thrice = await addContact(ws);
      ids.later = await addContact(ws);
      await addEvent(ws, ids.once, "purchase", new Date(NOW.getTime() - 10 * DAY), { total: 80, sku: "A" });
      for (const days of [5, 60]) {
        await addEvent(ws, ids.twice, "purchase", new Date(NOW.getTime() - days * DAY), {
          total: 20,
          sku: "B",
        });
      }
      for (const days of [1, 2, 3])
        await addEvent(ws, ids.thrice, "purchase", new Date(NOW.getTime() - days * DAY));
      // After now: never counts.
      await addEvent(ws, ids.later, "purchase", new Date(NOW.getTime() + DAY));
      await addEvent(ws, ids.none, "cart_abandoned", new Date(NOW.getTime() - DAY));
    });

    const purchase = (rest: object = {}) => ({ kind: "event", type: "purchase", ...rest }) as Rule;

    it("means at least once, ever, by default", async () => {
      expect(await members(ws, purchase())).toEqual([ids.once, ids.twice, ids.thrice].sort());
    });

    it("compares counts, with zero included by at_most and exactly 0", async () => {
      const count = (op: string, value: number) => members(ws, purchase({ count: { op, value } }));
      expect(await count("at_least", 0)).toHaveLength(5);
      expect(await count("at_least", 2)).toEqual([ids.twice, ids.thrice].sort());
      expect(await count("at_most", 0)).toEqual([ids.none, ids.later].sort());
      expect(await count("at_most", 2)).toEqual([ids.none, ids.once, ids.twice, ids.later].sort());
      expect(await count("exactly", 0)).toEqual([ids.none, ids.later].sort());
      expect(await count("exactly", 2)).toEqual([ids.twice]);
    });

    it("counts only events within the window", async () => {
      expect(await members(ws, purchase({ within: { days: 7 } }))).toEqual([ids.twice, ids.thrice].sort());
      expect(
        await members(ws, purchase({ within: { days: 30 }, count: { op: "exactly", value: 1 } })),
      ).toEqual([ids.once, ids.twice].sort());
    });

    it("filters on typed properties", async () => {
      const where = (filters: object[]) => members(ws, purchase({ where: filters }));
      expect(
        await where([{ property: "total", type: "number", condition: { op: "gt", value: 50 } }]),
      ).toEqual([ids.once]);
      expect(
        await where([{ property: "sku", type: "string", condition: { op: "neq", value: "A" } }]),
      ).toEqual([ids.twice, ids.thrice].sort());
    });

    it("reads responses as message events filtered by campaign and channel", async () => {
      const wsResponses = await newWorkspace("Responses");
      const campaign = uuidv7();
      const emailClick = await addContact(wsResponses);
      const smsClick = await addContact(wsResponses);
      const otherCampaign = await addContact(wsResponses);
      const old = await addContact(wsResponses);
      const at = new Date(NOW.getTime() - 3 * DAY);
      await addEvent(wsResponses, emailClick, "message.clicked", at, {
        campaignId: campaign,
        channel: "email",
      });
      await addEvent(wsResponses, smsClick, "message.clicked", at, { campaignId: campaign, channel: "sms" });
      await addEvent(wsResponses, otherCampaign, "message.clicked", at, {
        campaignId: uuidv7(),
        channel: "email",
      });
      await addEvent(wsResponses, old, "message.clicked", new Date(NOW.getTime() - 40 * DAY), {
        campaignId: campaign,
        channel: "email",
      });
      // Only a link scanner clicked this one's email: that is not the contact's click.
      const scanned = await addContact(wsResponses);
      await addEvent(wsResponses, scanned, "message.clicked", at, {
        campaignId: campaign,
        channel: "email",
        machine: true,
        machineReason: "scanner_user_agent",
      });
      expect(
        await members(wsResponses, response("clicked", { channel: "email", within: { days: 30 } })),
      ).toEqual([emailClick, otherCampaign].sort());
      expect(await members(wsResponses, response("clicked", { campaignId: campaign.toUpperCase() }))).toEqual(
        [emailClick, smsClick, old].sort(),
      );
      expect(await members(wsResponses, response("opened"))).toEqual([]);
    });
  });

  describe("on consent and reachability", () => {
    it("reads the consent columns and what each channel needs", async () => {
      const ws = await newWorkspace("Reachability");
      const mail = { address_line1: "1 Main St", city: "Springfield", postal_code: "12345", country: "US" };
      const emailOk = await addContact(ws, { email: "a@example.com", email_consent: "subscribed" });
      const emailNever = await addContact(ws, { email: "b@example.com" });
      const emailOff = await addContact(ws, { email: "c@example.com", email_consent: "unsubscribed" });
      const blankEmail = await addContact(ws, {
        email: "",
        phone: "+15550000001",
        sms_consent: "subscribed",
      });
      const smsAsked = await addContact(ws, { phone: "+15550000002" });
      const mailOk = await addContact(ws, { ...mail, mail_consent: "bounced", ads_consent: "unsubscribed" });
      const mailNoCity = await addContact(ws, { ...mail, city: "" });
      expect(await members(ws, { kind: "consent", channel: "email", status: "subscribed" })).toEqual([
        emailOk,
      ]);
      expect(await members(ws, { kind: "reachable", channel: "email" })).toEqual([emailOk, emailNever]);
      expect(await members(ws, { kind: "reachable", channel: "sms" })).toEqual([blankEmail]);
      expect(await members(ws, { kind: "reachable", channel: "mail" })).toEqual([mailOk]);
      expect(await members(ws, { kind: "reachable", channel: "ads" })).toEqual(
        [emailOk, emailNever, emailOff, blankEmail, smsAsked].sort(),
      );
      expect(mailNoCity).toBeDefined();
    });
  });

  describe("on lists and audiences", () => {
    let ws: string;
    let other: string;
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      ws = await newWorkspace("Membership");
      other = await newWorkspace("Membership elsewhere");
      ids.a = await addContact(ws, { region: "CA" });
      ids.b = await addContact(ws, { region: "NY" });
      ids.c = await addContact(ws, { region: "CA", attributes: { ltv: 500 } });
    });

    it("selects the members of a list", async () => {
      const list = await addAudience(ws, "list", null);
      await addToList(ws, list, ids.a!, ids.b!);
      expect(await members(ws, { kind: "list", listId: list })).toEqual([ids.a, ids.b]);
      expect(await members(ws, { kind: "audience", audienceId: list })).toEqual([ids.a, ids.b]);
      expect(await members(ws, not({ kind: "list", listId: list }))).toEqual([ids.c]);
    });

    it("inlines nested segments", async () => {
      const california = await addAudience(
        ws,
        "segment",
        field("address.region", "string", { op: "eq", value: "CA" }),
      );
      const bigSpenders = await addAudience(
        ws,
        "segment",
        all(
          { kind: "audience", audienceId: california },
          field("attributes.ltv", "number", { op: "gt", value: 100 }),
        ),
      );
      expect(await members(ws, { kind: "audience", audienceId: california })).toEqual([ids.a, ids.c]);
      expect(await members(ws, { kind: "audience", audienceId: bigSpenders })).toEqual([ids.c]);
      expect(await members(ws, any(not({ kind: "audience", audienceId: bigSpenders })))).toEqual([
        ids.a,
        ids.b,
      ]);
    });

    it("refuses cycles and names the chain", async () => {
      const first = uuidv7();
      const second = uuidv7();
      await addAudience(ws, "segment", { kind: "audience", audienceId: second }, first);
      await addAudience(
        ws,
        "segment",
        all({ kind: "bucket", salt: "s", percent: 50 }, { kind: "audience", audienceId: first }),
        second,
      );
      const error = await compileRule(
        any(field("email", "string", { op: "exists" }), { kind: "audience", audienceId: first }),
        context(ws),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AudienceCompileError);
      expect(error).toMatchObject({
        field: "definition.rules[1].audienceId",
        message: `audiences refer to each other in a cycle: ${first} → ${second} → ${first}`,
      });
    });

    it("refuses a definition that refers back to the audience being saved", async () => {
      const self = await addAudience(ws, "segment", field("email", "string", { op: "exists" }));
      const referrer = await addAudience(ws, "segment", { kind: "audience", audienceId: self });
      const error = await compileRule(
        { kind: "audience", audienceId: referrer },
        context(ws, { audienceId: self }),
      )
        .then(() => undefined)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        message: `audiences refer to each other in a cycle: ${self} → ${referrer} → ${self}`,
      });
    });

    it("refuses unknown audiences, other workspaces' audiences and segments used as lists", async () => {
      const foreign = await addAudience(other, "list", null);
      const segment = await addAudience(ws, "segment", field("email", "string", { op: "exists" }));
      const unknown = uuidv7();
      await expect(compileRule({ kind: "audience", audienceId: unknown }, context(ws))).rejects.toMatchObject(
        {
          field: "definition.audienceId",
          message: `audience ${unknown} does not exist`,
        },
      );
      await expect(compileRule(all({ kind: "list", listId: foreign }), context(ws))).rejects.toMatchObject({
        field: "definition.rules[0].listId",
        message: `list ${foreign} does not exist`,
      });
      await expect(compileRule({ kind: "list", listId: segment }, context(ws))).rejects.toMatchObject({
        message: `${segment} is a segment, not a list`,
      });
    });

    it("reports a problem inside a nested segment on the reference that brought it in", async () => {
      const missing = uuidv7();
      const inner = await addAudience(ws, "segment", { kind: "audience", audienceId: missing });
      const outer = await addAudience(ws, "segment", not({ kind: "audience", audienceId: inner }));
      await expect(
        compileRule(
          all(field("email", "string", { op: "exists" }), { kind: "audience", audienceId: outer }),
          context(ws),
        ),
      ).rejects.toMatchObject({
        field: "definition.rules[1].audienceId",
        message: `audience ${missing} does not exist (via ${outer} → ${inner} → ${missing})`,
      });
    });

    it("refuses an invalid rule with the validator's first problem", async () => {
      const bad = field("attributes.x", "number", { op: "greater", value: 1 });
      await expect(compileRule(bad, context(ws))).rejects.toMatchObject({ field: "definition.condition.op" });
    });
  });

  describe("on buckets", () => {
    it("agrees with node:crypto's md5 bucket, and selects none at 0% and all at 100%", async () => {
      const ws = await newWorkspace("Buckets");
      const ids = [];
      for (let i = 0; i < 30; i++) ids.push(await addContact(ws));
      const bucket = (id: string) =>
        Number.parseInt(createHash("md5").update(`holdout:${id}`).digest("hex").slice(0, 7), 16) % 100;
      expect(await members(ws, { kind: "bucket", salt: "holdout", percent: 40 })).toEqual(
        ids.filter((id) => bucket(id) < 40).sort(),
      );
      expect(await members(ws, { kind: "bucket", salt: "holdout", percent: 0 })).toEqual([]);
      expect(await members(ws, { kind: "bucket", salt: "holdout", percent: 100 })).toHaveLength(30);
    });
  });

  describe("tenancy and parameters", () => {
    it("never reads another workspace, even through identical contacts, events and lists", async () => {
      const mine = await newWorkspace("Mine");
      const theirs = await newWorkspace("Theirs");
      const list = uuidv7();
      await addAudience(mine, "list", null, list);
      await addAudience(theirs, "list", null, list);
      const id = uuidv7();
      const contact = { region: "CA", email: "same@example.com", attributes: { ltv: 900 } };
      await addContact(mine, { ...contact, region: "NY" }, id);
      await addContact(theirs, contact, id);
      await addEvent(theirs, id, "purchase", new Date(NOW.getTime() - DAY));
      await addToList(theirs, list, id);
      const rules: Rule[] = [
        field("address.region", "string", { op: "eq", value: "CA" }),
        { kind: "event", type: "purchase" },
        { kind: "event", type: "purchase", count: { op: "exactly", value: 1 } },
        { kind: "list", listId: list },
      ];
      for (const rule of rules) expect(await members(mine, rule)).toEqual([]);
      expect(
        await members(mine, { kind: "event", type: "purchase", count: { op: "exactly", value: 0 } }),
      ).toEqual([id]);
      // A contact of another workspace is never returned when the caller filters by workspace as usual.
      const where = await compileRule(field("email", "string", { op: "exists" }), context(mine));
      const { rows } = await sql<{ workspace_id: string }>`
        select c.workspace_id from contacts c where c.workspace_id = ${mine} and ${where}`.execute(
        database.handle.db,
      );
      expect(rows).toEqual([{ workspace_id: mine }]);
    });

    it("binds every value as a parameter", async () => {
      const ws = await newWorkspace("Injection");
      const hostile = "x'; drop table contacts; --";
      await addContact(ws, { region: "CA", attributes: { "x'); drop": 1 } });
      const rules: Rule[] = [
        field("address.region", "string", { op: "eq", value: hostile }),
        field("address.region", "string", { op: "in", values: [hostile, `"}`, "\\"] }),
        field("attributes.plan", "string", { op: "contains", value: hostile, caseInsensitive: true }),
        {
          kind: "event",
          type: "purchase",
          where: [{ property: "sku", type: "string", condition: { op: "eq", value: hostile } }],
        },
        { kind: "bucket", salt: hostile, percent: 100 },
      ];
      for (const rule of rules) {
        const where = await compileRule(rule, context(ws));
        const compiled = sql`select 1 from contacts c where ${where}`.compile(database.handle.db);
        expect(compiled.sql).not.toContain("drop table");
      }
      expect(await members(ws, rules[0]!)).toEqual([]);
      expect(await members(ws, rules[4]!)).toHaveLength(1);
      expect(
        await members(ws, field("address.region", "string", { op: "neq", value: hostile })),
      ).toHaveLength(1);
    });
  });
});
