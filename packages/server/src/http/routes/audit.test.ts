import { beforeAll, describe, expect, it } from "vitest";
import { type TestSession, useTestApp } from "../../testing/app.ts";

const t = useTestApp();

interface Entry {
  action: string;
  objectId: string | null;
  at: string;
  actor: { kind: string; id: string; label: string };
}

let admin: TestSession;
let topicIds: string[];

beforeAll(async () => {
  admin = await t.member(t.a, "admin", "admin.audit@team.example");
  topicIds = [];
  for (const name of ["Audit news", "Audit offers", "Audit events"]) {
    const response = await t.asA({ method: "POST", url: "/api/v1/topics", payload: { name } });
    expect(response.statusCode, response.body).toBe(201);
    topicIds.push(response.json().id);
  }
  const renamed = await t.asSession(admin, {
    method: "PATCH",
    url: `/api/v1/topics/${topicIds[0]}`,
    payload: { name: "Audit newsletter" },
  });
  expect(renamed.statusCode, renamed.body).toBe(200);
  const b = await t.asB({ method: "POST", url: "/api/v1/topics", payload: { name: "Globex topic" } });
  expect(b.statusCode).toBe(201);
});

const list = async (query = "", as: "key" | TestSession = "key") => {
  const options = { method: "GET" as const, url: `/api/v1/audit${query}` };
  return as === "key" ? t.asA(options) : t.asSession(as, options);
};

describe("GET /api/v1/audit", () => {
  it("is for owners and admins (and API keys); marketers and viewers are refused", async () => {
    for (const role of ["viewer", "marketer"] as const) {
      const response = await list("", await t.member(t.a, role));
      expect(response.statusCode, role).toBe(403);
      expect(response.json().code).toBe("FORBIDDEN");
    }
    for (const who of [admin, await t.member(t.a, "owner")]) {
      expect((await list("", who)).statusCode).toBe(200);
    }
    expect((await list()).statusCode).toBe(200);
    expect((await t.anonymous({ method: "GET", url: "/api/v1/audit" })).statusCode).toBe(401);
  });

  it("lists the workspace's entries newest first", async () => {
    const data = (await list()).json().data as Entry[];
    expect(data.map((e) => [e.action, e.objectId])).toEqual([
      ["topic.update", topicIds[0]],
      ["topic.create", topicIds[2]],
      ["topic.create", topicIds[1]],
      ["topic.create", topicIds[0]],
    ]);
    expect(data[0]!.actor).toEqual({ kind: "user", id: admin.userId, label: "admin.audit@team.example" });
    expect(data[1]!.actor.kind).toBe("api_key");
  });

  it("filters by actor, action, object and time", async () => {
    const actions = async (query: string) => {
      const response = await list(query);
      expect(response.statusCode, response.body).toBe(200);
      return (response.json().data as Entry[]).map((e) => `${e.action} ${e.objectId}`);
    };
    expect(await actions(`?actor=${admin.userId}`)).toEqual([`topic.update ${topicIds[0]}`]);
    expect(await actions("?action=topic.create")).toHaveLength(3);
    expect(await actions("?action=topic")).toHaveLength(4);
    expect(await actions("?action=campaign")).toEqual([]);
    expect(await actions(`?objectType=topic&objectId=${topicIds[0]}`)).toEqual([
      `topic.update ${topicIds[0]}`,
      `topic.create ${topicIds[0]}`,
    ]);
    const all = (await list()).json().data as Entry[];
    const newest = all[0]!.at;
    expect(await actions(`?from=${encodeURIComponent(newest)}`)).toEqual([`topic.update ${topicIds[0]}`]);
    expect(await actions(`?to=${encodeURIComponent(newest)}`)).toHaveLength(3);
  });

  it("pages with nextCursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      expect(response.statusCode, response.body).toBe(200);
      const page = response.json() as { data: Entry[]; nextCursor: string | null };
      expect(page.data).toHaveLength(1);
      seen.push(`${page.data[0]!.action} ${page.data[0]!.objectId}`);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
  });

  it("refuses a bad cursor, action or time", async () => {
    for (const query of ["?cursor=bm9wZQ", "?action=Topic%20Create", "?from=yesterday", "?limit=1000"]) {
      const response = await list(query);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().code).toBe("VALIDATION_FAILED");
    }
  });

  it("shows another workspace none of these entries", async () => {
    const data = (await t.asB({ method: "GET", url: "/api/v1/audit?limit=200" })).json().data as Entry[];
    expect(data.map((e) => e.action)).toEqual(["topic.create"]);
    for (const id of topicIds) {
      const filtered = await t.asB({ method: "GET", url: `/api/v1/audit?objectId=${id}` });
      expect(filtered.json().data).toEqual([]);
    }
  });
});
