import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp({ ADS_ALLOW_HOSTS: "10.1.2.3" });

const TOKEN = "EAAB-secret-meta-token-that-never-leaves-0123456789";
const DEV_TOKEN = "dev-token-never-returned-ABCDEF";
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

async function created(payload: object) {
  const response = await t.asA({ method: "POST", url: "/api/v1/ad-destinations", payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

const meta = (name: string, extra: object = {}) => ({
  name,
  platform: "meta",
  audienceId: "23850000000000001",
  credentials: { accessToken: TOKEN },
  ...extra,
});

describe("POST /api/v1/ad-destinations", () => {
  it("stores the credentials sealed and never returns them", async () => {
    const response = await t.asA({ method: "POST", url: "/api/v1/ad-destinations", payload: meta("Lapsed") });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({
      name: "Lapsed",
      platform: "meta",
      audienceId: "23850000000000001",
      baseUrl: null,
      credentialsSet: true,
      members: 0,
    });
    expect(response.body).not.toContain(TOKEN);
    expect(response.json()).not.toHaveProperty("credentials");
    const { rows } = await t.database.handle.pool.query(
      "select credentials from ad_destinations where id = $1",
      [response.json().id],
    );
    expect(Buffer.isBuffer(rows[0].credentials)).toBe(true);
    expect(rows[0].credentials.toString("latin1")).not.toContain(TOKEN);
    const read = await t.asA({ method: "GET", url: `/api/v1/ad-destinations/${response.json().id}` });
    expect(read.body).not.toContain(TOKEN);
    const list = await t.asA({ method: "GET", url: "/api/v1/ad-destinations" });
    expect(list.body).not.toContain(TOKEN);
  });

  it("creates a Google destination with its customer id, and a csv one with a name only", async () => {
    const google = await created({
      name: "Google VIPs",
      platform: "google",
      audienceId: "customers/1234567890/userLists/42",
      customerId: "123-456-7890",
      loginCustomerId: "999-000-1111",
      credentials: { accessToken: "ya29.token", developerToken: DEV_TOKEN },
    });
    expect(google).toMatchObject({
      platform: "google",
      customerId: "1234567890",
      loginCustomerId: "9990001111",
      credentialsSet: true,
    });
    expect(JSON.stringify(google)).not.toContain(DEV_TOKEN);
    // A new access token alone keeps the stored developer token.
    const rotated = await t.asA({
      method: "PATCH",
      url: `/api/v1/ad-destinations/${google.id}`,
      payload: { credentials: { accessToken: "ya29.fresh" } },
    });
    expect(rotated.json()).toMatchObject({ credentialsSet: true, customerId: "1234567890" });
    const csv = await created({ name: "Manual upload", platform: "csv" });
    expect(csv).toMatchObject({ platform: "csv", audienceId: null, credentialsSet: true });
  });

  it.each([
    ["meta without a token", { name: "x1", platform: "meta", audienceId: "1" }, "credentials.accessToken"],
    [
      "meta without an audience",
      { name: "x2", platform: "meta", credentials: { accessToken: "t" } },
      "audienceId",
    ],
    ["meta with a non-numeric audience", meta("x3", { audienceId: "lapsed" }), "audienceId"],
    [
      "google without a customer id or developer token",
      { name: "x4", platform: "google", audienceId: "42", credentials: { accessToken: "t" } },
      "customerId",
    ],
    ["csv with an audience id", { name: "x5", platform: "csv", audienceId: "1" }, "audienceId"],
    [
      "csv with credentials",
      { name: "x6", platform: "csv", credentials: { accessToken: "t" } },
      "credentials.accessToken",
    ],
    ["a loopback base URL", meta("x7", { baseUrl: "http://127.0.0.1:9000" }), "baseUrl"],
    ["a base URL with a password", meta("x8", { baseUrl: "https://u:p@graph.example" }), "baseUrl"],
    ["an unknown platform", { name: "x9", platform: "tiktok" }, "platform"],
    ["an unknown field", meta("x10", { secret: 1 }), "secret"],
  ])("refuses %s with a problem naming the field", async (_, payload, field) => {
    const response = await t.asA({ method: "POST", url: "/api/v1/ad-destinations", payload });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers["content-type"]).toContain("application/problem+json");
    expect(response.json().code).toBe("VALIDATION_FAILED");
    expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(response.body).not.toContain(TOKEN);
  });

  it("says how to allow an internal base URL, and accepts an allow-listed one", async () => {
    const refused = await t.asA({
      method: "POST",
      url: "/api/v1/ad-destinations",
      payload: meta("Internal", { baseUrl: "http://192.168.1.20/graph" }),
    });
    expect(refused.json().errors).toEqual([
      {
        field: "baseUrl",
        message: "192.168.1.20 is a private address; allow-list it with ADS_ALLOW_HOSTS to call it",
      },
    ]);
    const allowed = await created(meta("Allowed", { baseUrl: "http://10.1.2.3:8080/graph/" }));
    expect(allowed.baseUrl).toBe("http://10.1.2.3:8080/graph");
  });

  it("keeps names unique in the workspace, whatever the case, but not across workspaces", async () => {
    await created(meta("Winback"));
    const again = await t.asA({ method: "POST", url: "/api/v1/ad-destinations", payload: meta("WINBACK") });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: "CONFLICT", errors: [{ field: "name" }] });
    const inB = await t.asB({ method: "POST", url: "/api/v1/ad-destinations", payload: meta("Winback") });
    expect(inB.statusCode).toBe(201);
  });
});

describe("GET, PATCH and DELETE /api/v1/ad-destinations/{id}", () => {
  it("renames, rotates the token alone, resets the base URL, and keeps the platform", async () => {
    const d = await created(meta("Rotating", { baseUrl: "https://graph.compat.example" }));
    const patched = await t.asA({
      method: "PATCH",
      url: `/api/v1/ad-destinations/${d.id}`,
      payload: { name: "Rotated", baseUrl: null, credentials: { accessToken: "EAAB-new-token" } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ name: "Rotated", baseUrl: null, credentialsSet: true });
    const platform = await t.asA({
      method: "PATCH",
      url: `/api/v1/ad-destinations/${d.id}`,
      payload: { platform: "google" },
    });
    expect(platform.statusCode).toBe(400);
    const badField = await t.asA({
      method: "PATCH",
      url: `/api/v1/ad-destinations/${d.id}`,
      payload: { customerId: "1234567890" },
    });
    expect(badField.json().errors).toEqual([
      { field: "customerId", message: "applies only to platform google" },
    ]);
  });

  it("lists a workspace's own destinations, filtered by platform", async () => {
    const csv = await created({ name: "Listed csv", platform: "csv" });
    const list = await t.asA({ method: "GET", url: "/api/v1/ad-destinations?platform=csv&limit=100" });
    expect(list.statusCode).toBe(200);
    const ids = list.json().data.map((d: { id: string }) => d.id);
    expect(ids).toContain(csv.id);
    expect(list.json().data.every((d: { platform: string }) => d.platform === "csv")).toBe(true);
    const inB = await t.asB({ method: "GET", url: "/api/v1/ad-destinations?limit=100" });
    expect(inB.json().data.map((d: { id: string }) => d.id)).not.toContain(csv.id);
  });

  it("answers 404 to another workspace", async () => {
    const d = await created(meta("Private to A"));
    for (const [method, payload] of [
      ["GET", undefined],
      ["PATCH", { name: "Stolen" }],
      ["DELETE", undefined],
    ] as const) {
      const response = await t.asB({
        method,
        url: `/api/v1/ad-destinations/${d.id}`,
        ...(payload ? { payload } : {}),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe("NOT_FOUND");
    }
    const csv = await t.asB({ method: "GET", url: `/api/v1/ad-destinations/${d.id}/members.csv` });
    expect(csv.statusCode).toBe(404);
    expect((await t.asA({ method: "GET", url: `/api/v1/ad-destinations/${d.id}` })).json().name).toBe(
      "Private to A",
    );
  });

  it("deletes a destination", async () => {
    const d = await created({ name: "Short-lived", platform: "csv" });
    const deleted = await t.asA({ method: "DELETE", url: `/api/v1/ad-destinations/${d.id}` });
    expect(deleted.json()).toEqual({ id: d.id, deleted: true });
    expect((await t.asA({ method: "GET", url: `/api/v1/ad-destinations/${d.id}` })).statusCode).toBe(404);
  });
});

describe("GET /api/v1/ad-destinations/{id}/members.csv", () => {
  it("downloads the current members as hashed identifiers", async () => {
    const d = await created({ name: "Downloadable", platform: "csv" });
    const contact = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "Fran.Kay@Gmail.com", phone: "+14155550142" },
    });
    const gone = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "left@acme.example" },
    });
    // Membership as the dispatcher keeps it (see delivery/ads-dispatch.test.ts for the journey).
    await t.database.handle.pool.query(
      `insert into ad_audience_members (workspace_id, destination_id, contact_id, added_at, removed_at)
       values ($1, $2, $3, now(), null), ($1, $2, $4, now(), now())`,
      [t.a.id, d.id, contact.json().id, gone.json().id],
    );
    expect((await t.asA({ method: "GET", url: `/api/v1/ad-destinations/${d.id}` })).json().members).toBe(1);
    const response = await t.asA({ method: "GET", url: `/api/v1/ad-destinations/${d.id}/members.csv` });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/csv");
    expect(response.headers["content-disposition"]).toContain(`ad-destination-${d.id}-members.csv`);
    expect(response.body).toBe(
      `email_sha256,phone_sha256\r\n${sha256("fran.kay@gmail.com")},${sha256("14155550142")}\r\n`,
    );
    expect(response.body).not.toContain("gmail");
    const google = await t.asA({
      method: "GET",
      url: `/api/v1/ad-destinations/${d.id}/members.csv?rules=google`,
    });
    expect(google.body).toContain(`${sha256("frankay@gmail.com")},${sha256("+14155550142")}`);
  });
});

describe("workflows with ads nodes", () => {
  const graph = (destination: string, audienceAction = "add") => ({
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "retarget" } },
      {
        id: "retarget",
        type: "send",
        channel: "ads",
        destination,
        audienceAction,
        outlets: { next: "done" },
      },
      { id: "done", type: "exit", outlets: {} },
    ],
  });

  async function publish(who: typeof t.asA, g: object) {
    const wf = await who({
      method: "POST",
      url: "/api/v1/workflows",
      payload: { name: `wf ${Math.random()}`, graph: g },
    });
    expect(wf.statusCode, wf.body).toBe(201);
    return who({ method: "POST", url: `/api/v1/workflows/${wf.json().id}/publish` });
  }

  it("publishes an ads node naming a destination of the workspace", async () => {
    const d = await created({ name: "Journey target", platform: "csv" });
    const published = await publish(t.asA, graph(d.id, "remove"));
    expect(published.statusCode, published.body).toBe(201);
    expect(published.json().graph.nodes[1]).toMatchObject({ destination: d.id, audienceAction: "remove" });
  });

  it("refuses to publish an ads node naming a missing destination or another workspace's", async () => {
    const theirs = await created({ name: "A's target", platform: "csv" });
    const published = await publish(t.asB, graph(theirs.id));
    expect(published.statusCode).toBe(422);
    expect(published.json()).toMatchObject({
      code: "WORKFLOW_INVALID",
      errors: [
        {
          nodeId: "retarget",
          field: "nodes[1].destination",
          message: `node "retarget": ad destination ${theirs.id} does not exist in this workspace`,
        },
      ],
    });
    expect(published.body).not.toContain("A's target");
  });
});
