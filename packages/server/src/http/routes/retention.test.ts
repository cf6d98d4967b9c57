import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

async function contact(email: string) {
  const r = await t.asA({ method: "POST", url: "/api/v1/contacts", payload: { email } });
  expect(r.statusCode).toBe(201);
  return r.json().id as string;
}

describe("/api/v1/retention", () => {
  it("sets a policy, dry-runs it with the exact counts, asks for confirmation, then runs it", async () => {
    const db = t.database.handle.db;
    const keep = await contact("fine@example.com");
    const gone = [await contact("bounced1@example.com"), await contact("bounced2@example.com")];
    await sql`update contacts set email_consent = 'bounced' where id = any(${gone}::uuid[])`.execute(db);

    const bad = await t.asA({
      method: "PUT",
      url: "/api/v1/retention/policies/undeliverable",
      payload: { enabled: true, settings: { action: "shred" } },
    });
    expect(bad.statusCode).toBe(400);

    const put = await t.asA({
      method: "PUT",
      url: "/api/v1/retention/policies/undeliverable",
      payload: { enabled: false, settings: { action: "delete" }, maxShare: 0.5 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ kind: "undeliverable", enabled: false, maxShare: 0.5 });
    const list = await t.asA({ method: "GET", url: "/api/v1/retention/policies" });
    expect(list.json().data.map((p: { kind: string }) => p.kind)).toContain("undeliverable");

    const dry = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/undeliverable/run",
      payload: {},
    });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, status: "completed", counts: { deleted: 2 } });
    expect(
      dry
        .json()
        .sample.map((s: { id: string }) => s.id)
        .sort(),
    ).toEqual([...gone].sort());
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${gone[0]}` })).statusCode).toBe(200);

    // Two of three contacts is more than half the workspace: a real run needs confirmation.
    const unconfirmed = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/undeliverable/run",
      payload: { dryRun: false },
    });
    expect(unconfirmed.json()).toMatchObject({ status: "needs_confirmation", counts: { deleted: 2 } });
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${gone[0]}` })).statusCode).toBe(200);

    const real = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/undeliverable/run",
      payload: { dryRun: false, confirm: true },
    });
    expect(real.json()).toMatchObject({ dryRun: false, status: "completed", counts: { deleted: 2 } });
    for (const id of gone)
      expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${id}` })).statusCode).toBe(404);
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${keep}` })).statusCode).toBe(200);

    const runs = await t.asA({ method: "GET", url: "/api/v1/retention/runs?kind=undeliverable" });
    expect(runs.json().data.map((r: { status: string; dryRun: boolean }) => [r.status, r.dryRun])).toEqual([
      ["completed", false],
      ["needs_confirmation", false],
      ["completed", true],
    ]);
    // Another workspace sees none of it.
    expect((await t.asB({ method: "GET", url: "/api/v1/retention/runs" })).json().data).toEqual([]);
  });

  it("archives without confirmation, and restore brings the contact back", async () => {
    const db = t.database.handle.db;
    const keep = await contact("kept.archive@example.com");
    const gone = await contact("bounced.archive@example.com");
    await sql`update contacts set email_consent = 'bounced' where id = ${gone}`.execute(db);
    const put = await t.asA({
      method: "PUT",
      url: "/api/v1/retention/policies/undeliverable",
      payload: { enabled: true, settings: { action: "archive" }, maxShare: 0.01 },
    });
    expect(put.statusCode, put.body).toBe(200);
    const dry = await t.asA({ method: "POST", url: "/api/v1/retention/policies/undeliverable/run" });
    expect(dry.json()).toMatchObject({ dryRun: true, counts: { archived: 1 } });
    // One of two contacts is far above maxShare: archiving is not held, it keeps every row.
    const real = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/undeliverable/run",
      payload: { dryRun: false },
    });
    expect(real.json()).toMatchObject({ status: "completed", counts: { archived: 1 } });
    const archived = await t.asA({ method: "GET", url: `/api/v1/contacts/${gone}` });
    expect(archived.json().archivedAt).not.toBeNull();
    const listed = (await t.asA({ method: "GET", url: "/api/v1/contacts" }))
      .json()
      .data.map((c: { id: string }) => c.id);
    expect(listed).toContain(keep);
    expect(listed).not.toContain(gone);
    const restored = await t.asA({ method: "POST", url: `/api/v1/contacts/${gone}/restore` });
    expect(restored.json()).toMatchObject({ id: gone, archivedAt: null });
  });

  it("merges likely duplicates as a policy: dry run, confirmation, real run, nothing left", async () => {
    const older = await contact("ada.lovelace@gmail.com");
    const newer = await contact("adalovelace+shop@gmail.com");
    await t.asA({
      method: "PATCH",
      url: `/api/v1/contacts/${newer}`,
      payload: { consent: { email: "unsubscribed" } },
    });
    await contact("someone.else@example.com");

    const bad = await t.asA({
      method: "PUT",
      url: "/api/v1/retention/policies/duplicates",
      payload: { enabled: true, settings: { match: ["name_address"] } },
    });
    expect(bad.statusCode).toBe(400);
    const put = await t.asA({
      method: "PUT",
      url: "/api/v1/retention/policies/duplicates",
      payload: { enabled: true, settings: { match: ["email", "phone"] }, maxShare: 0.1 },
    });
    expect(put.json()).toMatchObject({ kind: "duplicates", enabled: true, maxShare: 0.1 });

    const dry = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/duplicates/run",
      payload: {},
    });
    expect(dry.json()).toMatchObject({
      kind: "duplicates",
      dryRun: true,
      counts: { groups: 1, merged: 1, email: 1 },
      sample: [{ id: newer, email: "adalovelace+shop@gmail.com", action: "merge", into: older }],
    });
    // One contact merged away is above maxShare (0.1) of the workspace's few contacts.
    const unconfirmed = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/duplicates/run",
      payload: { dryRun: false },
    });
    expect(unconfirmed.json()).toMatchObject({ status: "needs_confirmation", counts: { merged: 1 } });
    const real = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/duplicates/run",
      payload: { dryRun: false, confirm: true },
    });
    expect(real.json()).toMatchObject({ status: "completed", counts: { groups: 1, merged: 1, email: 1 } });
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${newer}` })).statusCode).toBe(404);
    const survivor = await t.asA({ method: "GET", url: `/api/v1/contacts/${older}` });
    expect(survivor.json().consent.email).toBe("unsubscribed");

    const again = await t.asA({
      method: "POST",
      url: "/api/v1/retention/policies/duplicates/run",
      payload: {},
    });
    expect(again.json().counts).toEqual({ groups: 0, merged: 0 });
    const runs = await t.asA({ method: "GET", url: "/api/v1/retention/runs?kind=duplicates" });
    expect(runs.json().data.map((r: { status: string }) => r.status)).toEqual([
      "completed",
      "completed",
      "needs_confirmation",
      "completed",
    ]);
  });
});
