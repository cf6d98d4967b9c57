import { MEMBERSHIP_JOB } from "@omneural/core/audiences/membership";
import { insertSuppression } from "@omneural/core/delivery/dispatch.repository";
import { runQueuedJobs } from "@omneural/core/testing/jobs";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

const CA = { kind: "field", field: "address.region", type: "string", condition: { op: "eq", value: "CA" } };
const bigSpender = {
  kind: "field",
  field: "attributes.ltv",
  type: "number",
  condition: { op: "gt", value: 100 },
};

async function runJobs() {
  await runQueuedJobs(t.database.handle);
}

const ids: Record<string, string> = {};

beforeAll(async () => {
  const people = [
    {
      key: "ada",
      email: "ada@example.com",
      address: { region: "CA", country: "US" },
      attributes: { ltv: 420 },
      consent: { email: "subscribed" },
    },
    {
      key: "bob",
      email: "bob@example.com",
      address: { region: "CA", country: "US" },
      attributes: { ltv: 50 },
    },
    {
      key: "cy",
      email: "cy@example.com",
      address: { region: "NY", country: "US" },
      attributes: { ltv: 1000 },
    },
    { key: "dee", email: "dee@example.com", attributes: { ltv: "lots" } },
  ];
  for (const { key, ...person } of people) {
    ids[key] = (await t.asA({ method: "POST", url: "/api/v1/contacts", payload: person })).json().id;
  }
  // The same person in another workspace must never show up.
  await t.asB({
    method: "POST",
    url: "/api/v1/contacts",
    payload: { email: "ada@example.com", address: { region: "CA" }, attributes: { ltv: 999 } },
  });
});

describe("audiences API", () => {
  it("previews a draft definition with a count and a sample", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/audiences/preview",
      payload: { definition: { kind: "all", rules: [CA, bigSpender] } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().count).toBe(1);
    expect(res.json().sample.map((c: { id: string }) => c.id)).toEqual([ids.ada]);
  });

  it("creates a segment, counts it (then from the cache), and pages its members", async () => {
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/audiences",
      payload: { name: "California", definition: CA },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const first = (await t.asA({ method: "GET", url: `/api/v1/audiences/${id}/count` })).json();
    expect(first).toMatchObject({ count: 2, cached: false, ageSeconds: 0 });
    const second = (await t.asA({ method: "GET", url: `/api/v1/audiences/${id}/count` })).json();
    expect(second).toMatchObject({ count: 2, cached: true });
    const fresh = (
      await t.asA({ method: "GET", url: `/api/v1/audiences/${id}/count?maxAgeSeconds=0` })
    ).json();
    expect(fresh.cached).toBe(false);
    const page1 = (await t.asA({ method: "GET", url: `/api/v1/audiences/${id}/members?limit=1` })).json();
    const page2 = (
      await t.asA({
        method: "GET",
        url: `/api/v1/audiences/${id}/members?limit=1&cursor=${page1.nextCursor}`,
      })
    ).json();
    expect([...page1.data, ...page2.data].map((c: { id: string }) => c.id).sort()).toEqual(
      [ids.ada, ids.bob].sort(),
    );
    expect(page2.nextCursor).toBeNull();
  });

  it("refuses an invalid definition, pointing at the offending node", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/audiences",
      payload: {
        name: "Broken",
        definition: {
          kind: "all",
          rules: [
            CA,
            {
              kind: "field",
              field: "attributes.ltv",
              type: "number",
              condition: { op: "greater", value: 1 },
            },
          ],
        },
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toMatch(/^definition\.rules\[1\]/);
    const badPath = await t.asA({
      method: "POST",
      url: "/api/v1/audiences/preview",
      payload: {
        definition: {
          kind: "field",
          field: "attributes.drop table",
          type: "string",
          condition: { op: "exists" },
        },
      },
    });
    expect(badPath.statusCode).toBe(400);
    expect(badPath.json().errors[0].field).toMatch(/^definition/);
  });

  it("refuses a cycle through nested audiences and an audience of another workspace", async () => {
    const a = (
      await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name: "A", definition: CA } })
    ).json();
    const b = (
      await t.asA({
        method: "POST",
        url: "/api/v1/audiences",
        payload: { name: "B", definition: { kind: "audience", audienceId: a.id } },
      })
    ).json();
    const cycle = await t.asA({
      method: "PATCH",
      url: `/api/v1/audiences/${a.id}`,
      payload: { definition: { kind: "audience", audienceId: b.id } },
    });
    expect(cycle.statusCode).toBe(400);
    expect(cycle.json().detail).toMatch(/cycle/i);
    const foreign = (
      await t.asB({ method: "POST", url: "/api/v1/audiences", payload: { name: "Theirs", kind: "list" } })
    ).json();
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/audiences/preview",
      payload: { definition: { kind: "list", listId: foreign.id } },
    });
    expect(res.statusCode).toBe(400);
    const nested = await t.asA({
      method: "POST",
      url: "/api/v1/audiences/preview",
      payload: { definition: { kind: "all", rules: [{ kind: "audience", audienceId: b.id }, bigSpender] } },
    });
    expect(nested.json().count).toBe(1);
    const inUse = await t.asA({ method: "DELETE", url: `/api/v1/audiences/${a.id}` });
    expect(inUse.statusCode).toBe(409);
  });

  it("manages static lists and freezes a segment into a list", async () => {
    const list = (
      await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name: "VIPs", kind: "list" } })
    ).json();
    const foreignContact = (await t.asB({ method: "GET", url: "/api/v1/contacts" })).json().data[0].id;
    const added = await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${list.id}/members`,
      payload: { contactIds: [ids.ada, ids.cy, foreignContact] },
    });
    expect(added.json()).toEqual({ changed: 2, unchanged: 0, notFound: [foreignContact] });
    const again = await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${list.id}/members`,
      payload: { contactIds: [ids.ada] },
    });
    expect(again.json()).toMatchObject({ changed: 0, unchanged: 1 });
    expect((await t.asA({ method: "GET", url: `/api/v1/audiences/${list.id}/count` })).json().count).toBe(2);
    const inList = await t.asA({
      method: "POST",
      url: "/api/v1/audiences/preview",
      payload: { definition: { kind: "all", rules: [{ kind: "list", listId: list.id }, CA] } },
    });
    expect(inList.json().count).toBe(1);
    await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${list.id}/members/remove`,
      payload: { contactIds: [ids.cy] },
    });
    expect(
      (await t.asA({ method: "GET", url: `/api/v1/audiences/${list.id}/count?maxAgeSeconds=0` })).json()
        .count,
    ).toBe(1);

    const segment = (
      await t.asA({
        method: "POST",
        url: "/api/v1/audiences",
        payload: { name: "Spenders", definition: bigSpender },
      })
    ).json();
    const frozen = await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${segment.id}/freeze`,
      payload: { name: "Spenders on Friday" },
    });
    expect(frozen.statusCode).toBe(201);
    expect(
      (await t.asA({ method: "GET", url: `/api/v1/audiences/${frozen.json().id}/count` })).json().count,
    ).toBe(2);
    const notAList = await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${segment.id}/members`,
      payload: { contactIds: [ids.ada] },
    });
    expect(notAList.statusCode).toBe(400);
  });

  it("fills a list from an import", async () => {
    const list = (
      await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name: "Trade show", kind: "list" } })
    ).json();
    const res = await t.asA({
      method: "POST",
      url: `/api/v1/contacts/imports?listId=${list.id}`,
      headers: { "content-type": "text/csv" },
      payload: "email,first name\nada@example.com,Ada\nbooth1@example.com,Visitor\nnot-an-email,Bad\n",
    });
    expect(res.statusCode, res.body).toBe(202);
    await runJobs();
    const members = (await t.asA({ method: "GET", url: `/api/v1/audiences/${list.id}/members` })).json().data;
    expect(members.map((c: { email: string }) => c.email).sort()).toEqual([
      "ada@example.com",
      "booth1@example.com",
    ]);
    const segment = (await t.asA({ method: "GET", url: "/api/v1/audiences" }))
      .json()
      .data.find((a: { kind: string }) => a.kind === "segment");
    const refused = await t.asA({
      method: "POST",
      url: `/api/v1/contacts/imports?listId=${segment.id}`,
      headers: { "content-type": "text/csv" },
      payload: "email\nx@example.com\n",
    });
    expect(refused.statusCode).toBe(400);
  });

  it("refuses a duplicate name", async () => {
    await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name: "Unique", kind: "list" } });
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/audiences",
      payload: { name: "unique", kind: "list" },
    });
    expect(res.statusCode).toBe(409);
  });

  it("keeps audiences private to their workspace on every route", async () => {
    const mine = (
      await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name: "Mine", definition: CA } })
    ).json();
    for (const [method, url, payload] of [
      ["GET", `/api/v1/audiences/${mine.id}`],
      ["PATCH", `/api/v1/audiences/${mine.id}`, { name: "Stolen" }],
      ["DELETE", `/api/v1/audiences/${mine.id}`],
      ["GET", `/api/v1/audiences/${mine.id}/count`],
      ["GET", `/api/v1/audiences/${mine.id}/members`],
      ["POST", `/api/v1/audiences/${mine.id}/members`, { contactIds: [ids.ada] }],
      ["POST", `/api/v1/audiences/${mine.id}/members/remove`, { contactIds: [ids.ada] }],
      ["POST", `/api/v1/audiences/${mine.id}/freeze`, { name: "Copy" }],
      ["GET", `/api/v1/audiences/${mine.id}/transitions`],
    ] as const) {
      const res = await t.asB({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    const list = (await t.asB({ method: "GET", url: "/api/v1/audiences" })).json();
    expect(list.data.map((a: { id: string }) => a.id)).not.toContain(mine.id);
  });
});

describe("event-driven membership", () => {
  it("records entered and left transitions as events arrive and contacts change", async () => {
    const clickedRecently = { kind: "response", response: "clicked", within: { days: 30 } };
    const segment = (
      await t.asA({
        method: "POST",
        url: "/api/v1/audiences",
        payload: { name: "Clickers", definition: clickedRecently, listened: true },
      })
    ).json();
    expect(
      (await t.asA({ method: "GET", url: `/api/v1/audiences/${segment.id}/transitions` })).json().data,
    ).toEqual([]);

    await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [{ contactId: ids.bob, type: "message.clicked", properties: { channel: "email" } }],
      },
    });
    const queued = await t.database.handle.pool.query(
      "select count(*)::int as n from graphile_worker.jobs where task_identifier = $1",
      [MEMBERSHIP_JOB],
    );
    expect(queued.rows[0].n).toBeGreaterThan(0);
    await runJobs();
    const afterClick = (
      await t.asA({ method: "GET", url: `/api/v1/audiences/${segment.id}/transitions` })
    ).json().data;
    expect(afterClick).toMatchObject([{ contactId: ids.bob, transition: "entered", cause: "event" }]);

    // A segment on a contact field: changing the contact moves them out.
    const ny = (
      await t.asA({
        method: "POST",
        url: "/api/v1/audiences",
        payload: {
          name: "New York",
          listened: true,
          definition: {
            kind: "field",
            field: "address.region",
            type: "string",
            condition: { op: "eq", value: "NY" },
          },
        },
      })
    ).json();
    const initial = (await t.asA({ method: "GET", url: `/api/v1/audiences/${ny.id}/transitions` })).json()
      .data;
    expect(initial).toMatchObject([{ contactId: ids.cy, transition: "entered", cause: "listening started" }]);
    await t.asA({
      method: "PATCH",
      url: `/api/v1/contacts/${ids.cy}`,
      payload: { address: { region: "NJ" } },
    });
    await runJobs();
    const moved = (await t.asA({ method: "GET", url: `/api/v1/audiences/${ny.id}/transitions` })).json().data;
    expect(moved[0]).toMatchObject({ contactId: ids.cy, transition: "left", cause: "contact updated" });
    expect(
      (await t.asA({ method: "GET", url: `/api/v1/audiences/${ny.id}/count?maxAgeSeconds=0` })).json().count,
    ).toBe(0);
  });
});

describe("GET /api/v1/audiences/{id}/count?reach=true", () => {
  it("counts the members each channel can reach: address, consent and suppressions", async () => {
    const people = [
      // email (never asked), SMS (subscribed) and mail (never asked): all three.
      {
        email: "reach.all@example.com",
        phone: "+14155550111",
        address: { line1: "1 Main St", city: "Springfield", postalCode: "12345" },
        consent: { sms: "subscribed" },
      },
      // A phone but SMS never asked: marketing SMS needs a subscription. Email unsubscribed.
      { email: "reach.unsub@example.com", phone: "+14155550112", consent: { email: "unsubscribed" } },
      // Email subscribed but the address is suppressed (bounced); SMS subscribed but no phone.
      { email: "reach.suppressed@example.com", consent: { email: "subscribed", sms: "subscribed" } },
      // An address with only a region is no postal address; a city is, but mail is unsubscribed.
      { email: "reach.mail@example.com", address: { region: "CA" }, consent: { mail: "subscribed" } },
      { phone: "+14155550113", address: { city: "Shelbyville" }, consent: { mail: "unsubscribed" } },
    ];
    const contactIds: string[] = [];
    for (const person of people) {
      const created = await t.asA({ method: "POST", url: "/api/v1/contacts", payload: person });
      expect(created.statusCode).toBe(201);
      contactIds.push(created.json().id);
    }
    await insertSuppression(t.database.handle.db, {
      workspaceId: t.a.id,
      channel: "email",
      address: "reach.suppressed@example.com",
      reason: "hard bounce",
      source: "bounce",
      messageId: null,
    });
    // The same address suppressed in another workspace changes nothing here.
    await insertSuppression(t.database.handle.db, {
      workspaceId: t.b.id,
      channel: "email",
      address: "reach.all@example.com",
      reason: "hard bounce",
      source: "bounce",
      messageId: null,
    });
    const list = (
      await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name: "Reach list", kind: "list" } })
    ).json();
    await t.asA({ method: "POST", url: `/api/v1/audiences/${list.id}/members`, payload: { contactIds } });

    const reach = await t.asA({ method: "GET", url: `/api/v1/audiences/${list.id}/count?reach=true` });
    expect(reach.statusCode).toBe(200);
    expect(reach.json()).toMatchObject({
      count: 5,
      cached: false,
      ageSeconds: 0,
      reach: { email: 2, sms: 1, mail: 1 },
    });
    // The plain count is served from what reach stored, and carries no reach.
    const plain = (await t.asA({ method: "GET", url: `/api/v1/audiences/${list.id}/count` })).json();
    expect(plain).toMatchObject({ count: 5, cached: true });
    expect(plain.reach).toBeUndefined();

    // A segment is counted by its rule in the same statement.
    await t.asA({
      method: "PATCH",
      url: `/api/v1/contacts/${contactIds[0]}`,
      payload: { attributes: { reachTest: "yes" } },
    });
    const segment = (
      await t.asA({
        method: "POST",
        url: "/api/v1/audiences",
        payload: {
          name: "Reach segment",
          definition: {
            kind: "field",
            field: "attributes.reachTest",
            type: "string",
            condition: { op: "eq", value: "yes" },
          },
        },
      })
    ).json();
    expect(
      (await t.asA({ method: "GET", url: `/api/v1/audiences/${segment.id}/count?reach=true` })).json(),
    ).toMatchObject({ count: 1, reach: { email: 1, sms: 1, mail: 1 } });
    expect(
      (await t.asB({ method: "GET", url: `/api/v1/audiences/${list.id}/count?reach=true` })).statusCode,
    ).toBe(404);
  });
});
