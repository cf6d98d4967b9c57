/**
 * /api/v1/contacts/duplicates, /api/v1/contacts/merge and the merge policy through the API: the routes
 * are not taken for /contacts/{id}, refusals answer 400 and 404, and a workspace neither sees nor merges
 * another's contacts.
 */
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

async function contact(as: typeof t.asA, payload: object): Promise<string> {
  const res = await as({ method: "POST", url: "/api/v1/contacts", payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

/** The API normalises what it is given: two Gmail spellings of one mailbox are two contacts. */
async function gmailPair(as: typeof t.asA, name: string) {
  const older = await contact(as, { email: `${name}@gmail.com`, consent: { email: "subscribed" } });
  const younger = await contact(as, { email: `${name.slice(0, 2)}.${name.slice(2)}+x@gmail.com` });
  return { older, younger };
}

describe("GET /api/v1/contacts/duplicates", () => {
  it("lists groups of likely duplicates, with the oldest first", async () => {
    const { older, younger } = await gmailPair(t.asA, "listdupes");
    const res = await t.asA({ method: "GET", url: "/api/v1/contacts/duplicates?reason=email" });
    expect(res.statusCode, res.body).toBe(200);
    const group = res.json().data.find((g: { survivorId: string }) => g.survivorId === older) as Record<
      string,
      unknown
    >;
    expect(group).toMatchObject({
      reason: "email",
      size: 2,
      contacts: [
        { id: older, email: "listdupes@gmail.com" },
        { id: younger, email: "li.stdupes+x@gmail.com" },
      ],
    });
  });

  it("answers 400 for a bad cursor or reason", async () => {
    for (const query of ["cursor=garbage", "reason=shoe_size", "limit=0"]) {
      const res = await t.asA({ method: "GET", url: `/api/v1/contacts/duplicates?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("POST /api/v1/contacts/merge", () => {
  it("merges and answers what moved", async () => {
    const survivorId = await contact(t.asA, { email: "api-s@example.com", consent: { email: "subscribed" } });
    const duplicateId = await contact(t.asA, {
      email: "api-d@example.com",
      phone: "+14155550190",
      consent: { email: "unsubscribed" },
      attributes: { plan: "pro" },
    });
    const event = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: { events: [{ contactId: duplicateId, type: "purchase" }] },
    });
    expect(event.json().accepted).toBe(1);

    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/merge",
      payload: { survivorId, duplicateIds: [duplicateId] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      survivor: {
        id: survivorId,
        email: "api-s@example.com",
        phone: "+14155550190",
        attributes: { plan: "pro" },
        consent: { email: "unsubscribed" },
      },
      duplicateIds: [duplicateId],
      filled: ["phone", "attributes.plan"],
      consent: [
        { channel: "email", previous: "subscribed", status: "unsubscribed", fromContactId: duplicateId },
      ],
      moved: { events: 1 },
    });
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${duplicateId}` })).statusCode).toBe(404);
  });

  it("answers 400 for a survivor among the duplicates or more than 50, 404 for unknown contacts", async () => {
    const survivorId = await contact(t.asA, { email: "refused-s@example.com" });
    const self = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/merge",
      payload: { survivorId, duplicateIds: [survivorId] },
    });
    expect([self.statusCode, self.json().code]).toEqual([400, "VALIDATION_FAILED"]);
    const many = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/merge",
      payload: { survivorId, duplicateIds: Array.from({ length: 51 }, () => crypto.randomUUID()) },
    });
    expect([many.statusCode, many.json().code]).toEqual([400, "VALIDATION_FAILED"]);
    const unknown = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/merge",
      payload: { survivorId, duplicateIds: [crypto.randomUUID()] },
    });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, "NOT_FOUND"]);
  });
});

describe("POST /api/v1/contacts/duplicates/merge", () => {
  it("is a dry run unless confirmed", async () => {
    const { older, younger } = await gmailPair(t.asA, "policyrun");
    const dry = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/duplicates/merge",
      payload: { reasons: ["email"] },
    });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true });
    expect(dry.json().sample).toContainEqual({
      reason: "email",
      survivorId: older,
      duplicateIds: [younger],
      mergeId: null,
    });
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${younger}` })).statusCode).toBe(200);

    const empty = await t.asA({ method: "POST", url: "/api/v1/contacts/duplicates/merge" });
    expect([empty.statusCode, empty.json().dryRun]).toEqual([200, true]);
    const unconfirmed = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/duplicates/merge",
      payload: { dryRun: false },
    });
    expect([unconfirmed.statusCode, unconfirmed.json().code]).toEqual([400, "VALIDATION_FAILED"]);

    const real = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/duplicates/merge",
      payload: { confirm: true, reasons: ["email"] },
    });
    expect(real.statusCode, real.body).toBe(200);
    const { dryRun: _a, sample: _b, ...realCounts } = real.json();
    const { dryRun: _c, sample: _d, ...dryCounts } = dry.json();
    expect(realCounts).toEqual(dryCounts);
    expect(real.json().dryRun).toBe(false);
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${younger}` })).statusCode).toBe(404);
  });
});

describe("workspace isolation", () => {
  it("B neither sees A's duplicates nor merges A's contacts, and B's policy leaves A's alone", async () => {
    const a = await gmailPair(t.asA, "isolationa");
    const b = await gmailPair(t.asB, "isolationb");

    const seen = await t.asB({ method: "GET", url: "/api/v1/contacts/duplicates?limit=100" });
    expect(seen.statusCode).toBe(200);
    expect(seen.body).not.toContain(a.older);
    expect(seen.body).not.toContain("isolationa");
    expect(seen.json().data.map((g: { survivorId: string }) => g.survivorId)).toContain(b.older);

    for (const payload of [
      { survivorId: b.older, duplicateIds: [a.younger] },
      { survivorId: a.older, duplicateIds: [b.younger] },
      { survivorId: a.older, duplicateIds: [a.younger] },
    ]) {
      const res = await t.asB({ method: "POST", url: "/api/v1/contacts/merge", payload });
      expect([res.statusCode, res.json().code]).toEqual([404, "NOT_FOUND"]);
      const control = await t.asB({
        method: "POST",
        url: "/api/v1/contacts/merge",
        payload: JSON.parse(
          JSON.stringify(payload)
            .replaceAll(a.older, crypto.randomUUID())
            .replaceAll(a.younger, crypto.randomUUID()),
        ),
      });
      expect(control.json().detail.replace(/[0-9a-f-]{36}/g, "…")).toBe(
        res.json().detail.replace(/[0-9a-f-]{36}/g, "…"),
      );
    }

    const policy = await t.asB({
      method: "POST",
      url: "/api/v1/contacts/duplicates/merge",
      payload: { confirm: true },
    });
    expect(policy.statusCode, policy.body).toBe(200);
    expect(policy.body).not.toContain(a.older);
    for (const id of [a.older, a.younger, b.older]) {
      expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${id}` })).statusCode).toBe(
        id === b.older ? 404 : 200,
      );
    }
    expect((await t.asB({ method: "GET", url: `/api/v1/contacts/${b.younger}` })).statusCode).toBe(404);
    expect((await t.asB({ method: "GET", url: `/api/v1/contacts/${b.older}` })).statusCode).toBe(200);
  });
});
