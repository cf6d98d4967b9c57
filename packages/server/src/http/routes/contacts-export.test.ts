/**
 * GET /api/v1/contacts/export.csv: the columns and cells, the same filters as GET /contacts, one
 * workspace's contacts only, open to viewers, and streamed a page at a time.
 */
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";
import { contactsCsv, csvCell, EXPORT_COLUMNS } from "./contacts-export.ts";

const t = useTestApp();

/** A minimal CSV reader for the answers (quoted cells with "" and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r") {
      // CRLF: the \n ends the row
    } else if (c === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) rows.push([...row, cell]);
  return rows;
}

function records(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i] ?? ""])));
}

async function exportAs(who: "a" | "b", query = "") {
  const response = await (who === "a" ? t.asA : t.asB)({
    method: "GET",
    url: `/api/v1/contacts/export.csv${query}`,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response;
}

beforeAll(async () => {
  const create = async (who: "a" | "b", payload: Record<string, unknown>) => {
    const r = await (who === "a" ? t.asA : t.asB)({ method: "POST", url: "/api/v1/contacts", payload });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  };
  await create("a", {
    email: "ada@acme.example",
    phone: "+12025550100",
    firstName: "Ada",
    lastName: "Lovelace, Countess",
    timezone: "Europe/London",
    externalId: "cust-1",
    address: { city: "London", country: "GB" },
    attributes: { plan: "pro", visits: 3 },
    consent: { email: "subscribed", sms: "unsubscribed" },
  });
  await create("a", {
    email: "grace@navy.example",
    firstName: '=HYPERLINK("http://evil")',
    lastName: "@SUM",
  });
  const archived = await create("a", { email: "archived@acme.example", firstName: "Old" });
  await sql`update contacts set archived_at = now() where id = ${archived}`.execute(t.database.handle.db);
  await create("b", { email: "bea@globex.example", firstName: "Bea" });
});

describe("csvCell", () => {
  it("quotes delimiters, quotes and line breaks, and defuses formulas", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell(null)).toBe("");
    expect(csvCell('say "hi", then\ngo')).toBe('"say ""hi"", then\ngo"');
    for (const start of ["=", "+", "-", "@", "\t", "\r"]) expect(csvCell(`${start}1`)).toMatch(/^"?'/);
    expect(csvCell("=1+2,3")).toBe(`"'=1+2,3"`);
  });
});

describe("GET /api/v1/contacts/export.csv", () => {
  it("sends every column of the workspace's contacts, newest first, as an attachment", async () => {
    const response = await exportAs("a");
    expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(response.headers["content-disposition"]).toMatch(
      /^attachment; filename="contacts-\d{4}-\d\d-\d\d\.csv"$/,
    );
    const [header] = parseCsv(response.body);
    expect(header).toEqual([...EXPORT_COLUMNS]);
    const rows = records(response.body);
    expect(rows.map((r) => r.email)).toEqual(["grace@navy.example", "ada@acme.example"]);
    const ada = rows[1]!;
    expect(ada).toMatchObject({
      externalId: "cust-1",
      // E.164 starts with +: defused like any other cell.
      phone: "'+12025550100",
      firstName: "Ada",
      lastName: "Lovelace, Countess",
      city: "London",
      country: "GB",
      timezone: "Europe/London",
      consent_email: "subscribed",
      consent_sms: "unsubscribed",
      consent_mail: "never_asked",
      consent_ads: "never_asked",
    });
    expect(JSON.parse(ada.attributes!)).toEqual({ plan: "pro", visits: 3 });
    expect(ada.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(ada.createdAt!).toISOString()).toBe(ada.createdAt);
    // Formulas come out as text.
    expect(rows[0]).toMatchObject({ firstName: `'=HYPERLINK("http://evil")`, lastName: "'@SUM" });
  });

  it("applies the filters of GET /contacts", async () => {
    const emails = async (query: string) => records((await exportAs("a", query)).body).map((r) => r.email);
    expect(await emails("?search=ada%40")).toEqual(["ada@acme.example"]);
    expect(await emails("?attribute=plan:pro")).toEqual(["ada@acme.example"]);
    expect(await emails("?attribute=visits:3&attribute=plan:pro")).toEqual(["ada@acme.example"]);
    expect(await emails("?attribute=plan:basic")).toEqual([]);
    expect(await emails("?archived=only")).toEqual(["archived@acme.example"]);
    expect(await emails("?archived=include")).toHaveLength(3);
    const bad = await t.asA({ method: "GET", url: "/api/v1/contacts/export.csv?attribute=nocolon" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe("VALIDATION_FAILED");
    expect((await t.asA({ method: "GET", url: "/api/v1/contacts/export.csv?limit=5" })).statusCode).toBe(400);
  });

  it("never includes another workspace's contacts", async () => {
    const bodyB = (await exportAs("b", "?archived=include")).body;
    expect(records(bodyB).map((r) => r.email)).toEqual(["bea@globex.example"]);
    expect(bodyB).not.toContain("acme.example");
    expect((await exportAs("a", "?archived=include")).body).not.toContain("globex");
    expect((await exportAs("b", "?search=ada%40acme.example")).body.trim().split("\r\n")).toHaveLength(1);
  });

  it("is open to viewers, who only read", async () => {
    const viewer = await t.member(t.a, "viewer");
    const response = await t.asSession(viewer, { method: "GET", url: "/api/v1/contacts/export.csv" });
    expect(response.statusCode, response.body).toBe(200);
    expect(records(response.body).map((r) => r.email)).toContain("ada@acme.example");
    expect((await t.anonymous({ method: "GET", url: "/api/v1/contacts/export.csv" })).statusCode).toBe(401);
  });

  it("streams a large export page by page, reading a page only when the previous one was taken", async () => {
    await sql`
      insert into contacts (workspace_id, email, attributes)
      select ${t.a.id}::uuid, 'bulk' || n || '@acme.example', '{"bulk": true}'::jsonb
      from generate_series(1, 1234) as n`.execute(t.database.handle.db);
    const response = await exportAs("a", "?attribute=bulk:true");
    const rows = records(response.body);
    expect(rows).toHaveLength(1234);
    expect(new Set(rows.map((r) => r.email)).size).toBe(1234);

    // Lazily: the header first, then one chunk per page of 100, each fetched on demand.
    const ws = { id: t.a.id, defaultCountry: "US", defaultTimezone: "America/New_York" };
    const chunks = contactsCsv(t.database.handle.db, ws as never, { attribute: "bulk:true" }, 100);
    const header = await chunks.next();
    expect(header.value).toBe(`${EXPORT_COLUMNS.join(",")}\r\n`);
    let pages = 0;
    for await (const chunk of chunks) {
      pages++;
      expect(chunk.trim().split("\r\n").length).toBeLessThanOrEqual(100);
    }
    expect(pages).toBe(13);
  });
});
