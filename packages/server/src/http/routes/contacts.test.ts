import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

const problem = (res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) => {
  expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
  return res.json() as {
    code: string;
    status: number;
    detail: string;
    errors?: { field: string; message: string }[];
  };
};

describe("POST /api/v1/contacts", () => {
  it("creates a contact with normalised email, E.164 phone and a timezone from the address", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: {
        email: "  Ada.Lovelace@Example.COM ",
        phone: "(415) 555-2671",
        firstName: "Ada",
        lastName: "Lovelace",
        address: {
          line1: "1 Market St",
          city: "San Francisco",
          region: "CA",
          postalCode: "94105",
          country: "United States",
        },
        attributes: { plan: "gold", ltv: 420 },
        consent: { email: "subscribed" },
      },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.email).toBe("ada.lovelace@example.com");
    expect(body.phone).toBe("+14155552671");
    expect(body.address.country).toBe("US");
    expect(body.timezone).toBe("America/Los_Angeles");
    expect(body.attributes).toEqual({ plan: "gold", ltv: 420 });
    expect(body.consent).toEqual({
      email: "subscribed",
      sms: "never_asked",
      mail: "never_asked",
      ads: "never_asked",
    });
  });

  it("upserts by email: a second post updates the same contact and merges attributes", async () => {
    const first = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "grace@example.com", attributes: { a: 1 } },
    });
    expect(first.statusCode).toBe(201);
    const second = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "GRACE@example.com", firstName: "Grace", attributes: { b: 2 } },
    });
    expect(second.statusCode).toBe(200);
    expect(second.json().id).toBe(first.json().id);
    expect(second.json().firstName).toBe("Grace");
    expect(second.json().attributes).toEqual({ a: 1, b: 2 });
  });

  it("upserts by externalId before email, and by phone when nothing else is given", async () => {
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { externalId: "crm-1", email: "old@example.com" },
    });
    const byExternal = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { externalId: "crm-1", email: "new@example.com" },
    });
    expect(byExternal.statusCode).toBe(200);
    expect(byExternal.json().id).toBe(created.json().id);
    expect(byExternal.json().email).toBe("new@example.com");

    const phone = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { phone: "+1 212 555 0100" },
    });
    const again = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { phone: "212-555-0100", lastName: "Hopper" },
    });
    expect(again.json().id).toBe(phone.json().id);
    expect(again.json().lastName).toBe("Hopper");
  });

  it("refuses an identifier that belongs to another contact with 409", async () => {
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { externalId: "x-1", email: "one@example.com" },
    });
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { externalId: "x-2", email: "two@example.com" },
    });
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { externalId: "x-1", email: "two@example.com" },
    });
    expect(res.statusCode).toBe(409);
    expect(problem(res).code).toBe("IDENTITY_CONFLICT");
  });

  it("refuses to merge someone into a contact sharing their phone but with another email", async () => {
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "parent@family.test", phone: "+1 415 555 0142" },
    });
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "child@family.test", phone: "+1 415 555 0142" },
    });
    expect(res.statusCode).toBe(409);
    expect(problem(res).detail).toMatch(/different email/);
  });

  it("uses the workspace's default country for phones", async () => {
    const res = await t.asB({ method: "POST", url: "/api/v1/contacts", payload: { phone: "020 7946 0958" } });
    expect(res.statusCode).toBe(201);
    expect(res.json().phone).toBe("+442079460958");
    expect(res.json().timezone).toBe("Europe/London");
  });

  it.each([
    [{ email: "not-an-email" }, "email"],
    [{ phone: "12" }, "phone"],
    [{ email: "a@example.com", timezone: "Mars/Olympus" }, "timezone"],
    [{ firstName: "No identifier" }, "email"],
    [{ email: "a@example.com", shoeSize: 42 }, "shoeSize"],
    [{ email: 42 }, "email"],
    [{ email: "a@example.com", attributes: "nope" }, "attributes"],
    [{ email: "a@example.com", consent: { email: "maybe" } }, "consent.email"],
    [{ email: "a@example.com", attributes: { "bad key!": 1 } }, "attributes.bad key!"],
  ])("refuses %j naming the field %s", async (payload, field) => {
    const res = await t.asA({ method: "POST", url: "/api/v1/contacts", payload });
    expect(res.statusCode).toBe(400);
    const body = problem(res);
    expect(body.code).toBe("VALIDATION_FAILED");
    expect(body.errors?.map((e) => e.field)).toContain(field);
  });

  it("answers malformed JSON with INVALID_JSON", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      headers: { "content-type": "application/json" },
      payload: '{"email": "a@example.com",',
    });
    expect(res.statusCode).toBe(400);
    expect(problem(res).code).toBe("INVALID_JSON");
  });

  it("answers an oversize body with 413", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "big@example.com", attributes: { blob: "x".repeat(2 * 1024 * 1024) } },
    });
    expect(res.statusCode).toBe(413);
    expect(problem(res).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("answers an unsupported content type with 415", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      headers: { "content-type": "application/xml" },
      payload: "<a/>",
    });
    expect(res.statusCode).toBe(415);
    expect(problem(res).code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("stores nothing when a request is refused", async () => {
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "half@example.com", phone: "nope" },
    });
    const list = await t.asA({ method: "GET", url: "/api/v1/contacts?search=half@" });
    expect(list.json().data).toEqual([]);
  });
});

describe("authentication and workspace isolation", () => {
  it("answers 401 without a key, with a malformed key, and with an unknown key", async () => {
    for (const authorization of [undefined, "Basic abc", "Bearer nope", `Bearer omn_${"x".repeat(43)}`]) {
      const res = await t.app.inject({
        method: "GET",
        url: "/api/v1/contacts",
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode).toBe(401);
      expect(problem(res).code).toBe("UNAUTHORIZED");
    }
  });

  it("never shows or changes another workspace's contact (404 on every route)", async () => {
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "private@example.com", externalId: "p-1" },
    });
    const id = created.json().id;
    expect((await t.asB({ method: "GET", url: `/api/v1/contacts/${id}` })).statusCode).toBe(404);
    expect(
      (await t.asB({ method: "PATCH", url: `/api/v1/contacts/${id}`, payload: { firstName: "Mallory" } }))
        .statusCode,
    ).toBe(404);
    expect((await t.asB({ method: "DELETE", url: `/api/v1/contacts/${id}` })).statusCode).toBe(404);
    const list = await t.asB({ method: "GET", url: "/api/v1/contacts?search=private@example.com" });
    expect(list.json().data).toEqual([]);
    // The same identifiers in workspace B make a separate contact, not a match.
    const inB = await t.asB({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "private@example.com", externalId: "p-1" },
    });
    expect(inB.statusCode).toBe(201);
    expect(inB.json().id).not.toBe(id);
    const stillA = await t.asA({ method: "GET", url: `/api/v1/contacts/${id}` });
    expect(stillA.json().firstName).toBeNull();
  });

  it("answers 404, not 400, for a well-formed id that does not exist", async () => {
    const res = await t.asA({ method: "GET", url: "/api/v1/contacts/00000000-0000-4000-8000-000000000000" });
    expect(res.statusCode).toBe(404);
    expect(problem(res).code).toBe("NOT_FOUND");
  });
});

describe("GET /api/v1/contacts", () => {
  it("pages through every contact exactly once with the cursor", async () => {
    const { a } = t;
    for (let i = 0; i < 12; i++) {
      await t.asA({
        method: "POST",
        url: "/api/v1/contacts",
        payload: { email: `page${i}@paging.test`, attributes: { cohort: "paging" } },
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/contacts?limit=5&attribute=cohort:paging${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await t.asA({ method: "GET", url });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      seen.push(...body.data.map((c: { email: string }) => c.email));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    expect(a.id).toBeTruthy();
  });

  it("searches by email prefix, phone and name, and filters by attribute", async () => {
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: {
        email: "marie@curie.test",
        phone: "+33 1 42 68 53 00",
        firstName: "Marie",
        lastName: "Curie",
        attributes: { tier: 2 },
      },
    });
    const byEmail = await t.asA({ method: "GET", url: "/api/v1/contacts?search=marie@cu" });
    expect(byEmail.json().data.map((c: { email: string }) => c.email)).toEqual(["marie@curie.test"]);
    const byPhone = await t.asA({
      method: "GET",
      url: `/api/v1/contacts?search=${encodeURIComponent("+33142685300")}`,
    });
    expect(byPhone.json().data).toHaveLength(1);
    const byName = await t.asA({ method: "GET", url: "/api/v1/contacts?search=curie" });
    expect(byName.json().data).toHaveLength(1);
    const byAttr = await t.asA({ method: "GET", url: "/api/v1/contacts?attribute=tier:2" });
    expect(byAttr.json().data.map((c: { email: string }) => c.email)).toContain("marie@curie.test");
    const noMatch = await t.asA({ method: "GET", url: '/api/v1/contacts?attribute=tier:"2"' });
    expect(noMatch.json().data).toHaveLength(0);
  });

  it("refuses a forged cursor and an out-of-range limit", async () => {
    expect((await t.asA({ method: "GET", url: "/api/v1/contacts?cursor=abc" })).statusCode).toBe(400);
    const res = await t.asA({ method: "GET", url: "/api/v1/contacts?limit=5000" });
    expect(res.statusCode).toBe(400);
    expect(problem(res).errors?.[0]?.field).toBe("limit");
  });
});

describe("PATCH /api/v1/contacts/{id}", () => {
  it("merges attributes, removes null ones, and records consent changes", async () => {
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "patch@example.com", attributes: { a: 1, b: 2 } },
    });
    const id = created.json().id;
    const res = await t.asA({
      method: "PATCH",
      url: `/api/v1/contacts/${id}`,
      payload: {
        attributes: { b: null, c: "three" },
        consent: { sms: "unsubscribed" },
        timezone: "europe/paris",
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().attributes).toEqual({ a: 1, c: "three" });
    expect(res.json().consent.sms).toBe("unsubscribed");
    expect(res.json().timezone).toBe("Europe/Paris");
    const ledger = await t.database.handle.db
      .selectFrom("consent_changes")
      .selectAll()
      .where("contact_id", "=", id)
      .execute();
    expect(ledger).toMatchObject([
      { channel: "sms", status: "unsubscribed", previous_status: "never_asked", source: "api" },
    ]);
  });

  it("refuses removing the last identifier", async () => {
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "last@example.com" },
    });
    const res = await t.asA({
      method: "PATCH",
      url: `/api/v1/contacts/${created.json().id}`,
      payload: { email: null },
    });
    expect(res.statusCode).toBe(400);
  });
});

describe("DELETE /api/v1/contacts/{id}", () => {
  it("erases the contact with its events and consent history, and says so", async () => {
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "erase@example.com", consent: { email: "subscribed" } },
    });
    const id = created.json().id;
    await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: { events: [{ contactId: id, type: "purchase" }] },
    });
    const res = await t.asA({ method: "DELETE", url: `/api/v1/contacts/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, erased: true, removed: { events: 1, consentChanges: 1 } });
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${id}` })).statusCode).toBe(404);
    const left = await t.database.handle.db
      .selectFrom("events")
      .select("id")
      .where("contact_id", "=", id)
      .execute();
    expect(left).toEqual([]);
  });
});
