import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { IMPORT_JOB } from "@omneural/core/imports/import.service";
import { runQueuedJobs } from "@omneural/core/testing/jobs";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();
const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../../test/fixtures");
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name));

/** Runs queued jobs the way the worker role does, then returns. */
async function runJobs() {
  await runQueuedJobs(t.database.handle);
}

async function upload(body: Buffer | string, query = "", who: "a" | "b" = "a") {
  const call = who === "a" ? t.asA : t.asB;
  return call({
    method: "POST",
    url: `/api/v1/contacts/imports${query}`,
    headers: { "content-type": "text/csv" },
    payload: body,
  });
}

async function importAndWait(body: Buffer | string, query = "") {
  const res = await upload(body, query);
  expect(res.statusCode, res.body).toBe(202);
  await runJobs();
  const status = await t.asA({ method: "GET", url: `/api/v1/contacts/imports/${res.json().id}` });
  expect(status.statusCode).toBe(200);
  return status.json();
}

describe("POST /api/v1/contacts/imports", () => {
  it("imports a messy HubSpot export: BOM, CRLF, quoted commas and newlines, bad rows reported by line", async () => {
    const result = await importAndWait(fixture("hubspot-export.csv"), "?filename=hubspot.csv");
    expect(result.status).toBe("completed");
    expect(result.counts).toEqual({ rows: 7, inserted: 3, updated: 0, rejected: 3, mergedDuplicates: 1 });
    expect(result.rejections.map((r: { line: number }) => r.line)).toEqual([5, 6, 7]);
    expect(result.rejections[0].reason).toMatch(/email/);
    expect(result.rejections[1].reason).toMatch(/phone/);
    expect(result.rejections[2].reason).toMatch(/columns/);
    expect(result.detected.delimiter).toBe(",");
    expect(result.detected.columns).toContainEqual({
      header: "State/Region",
      target: "address.region",
      detected: true,
    });

    const ada = (await t.asA({ method: "GET", url: "/api/v1/contacts?search=ada@example.com" })).json()
      .data[0];
    expect(ada).toMatchObject({
      firstName: "Ada",
      lastName: "Lovelace-Byron", // the later row of the same person wins
      phone: "+14155552671",
      address: { line1: "1 Market St, Suite 5", city: "San Francisco", region: "CA", country: "US" },
      timezone: "America/Los_Angeles",
    });
    expect(ada.attributes).toMatchObject({ lifecycle_stage: "customer", notes: "duplicate of line 2" });
    const grace = (await t.asA({ method: "GET", url: "/api/v1/contacts?search=grace@example.com" })).json()
      .data[0];
    expect(grace.attributes.notes).toBe("multi\r\nline note");
    const katherine = (await t.asA({ method: "GET", url: "/api/v1/contacts?search=katherine@" })).json()
      .data[0];
    expect(katherine.attributes.notes).toBe("02134");
  });

  it("downloads the rejected rows as CSV with line numbers and the original columns", async () => {
    const list = await t.asA({ method: "GET", url: "/api/v1/contacts/imports" });
    const withRejections = list
      .json()
      .data.find((i: { counts: { rejected: number } }) => i.counts.rejected > 0);
    const res = await t.asA({
      method: "GET",
      url: `/api/v1/contacts/imports/${withRejections.id}/rejections.csv`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/text\/csv/);
    const lines = res.body.trim().split("\r\n");
    expect(lines[0]).toBe(
      "line,error,First Name,Last Name,Email,Phone Number,Street Address,City,State/Region,Postal Code,Country/Region,Lifecycle Stage,Notes",
    );
    expect(lines[1]).toMatch(/^5,.*email.*,Bad,Email,not-an-email/);
    expect(lines).toHaveLength(4);
  });

  it("updates existing contacts on a second import and keeps values the file leaves empty", async () => {
    const csv =
      "email,first name,last name,plan\nada@example.com,,Lovelace,platinum\nnew-person@example.com,New,Person,free\n";
    const result = await importAndWait(csv);
    expect(result.counts).toMatchObject({ rows: 2, inserted: 1, updated: 1, rejected: 0 });
    const ada = (await t.asA({ method: "GET", url: "/api/v1/contacts?search=ada@example.com" })).json()
      .data[0];
    expect(ada.firstName).toBe("Ada");
    expect(ada.lastName).toBe("Lovelace");
    expect(ada.attributes).toMatchObject({ plan: "platinum", lifecycle_stage: "customer" });
  });

  it("detects semicolons and a Windows-1252 file, and maps German headers with a mapping", async () => {
    const mapping = encodeURIComponent(
      JSON.stringify({
        Vorname: "firstName",
        Nachname: "lastName",
        Telefon: "phone",
        PLZ: "address.postalCode",
        Land: "address.country",
        Kundennummer: "externalId",
      }),
    );
    const result = await importAndWait(fixture("semicolon-windows1252.csv"), `?mapping=${mapping}`);
    expect(result.status).toBe("completed");
    expect(result.detected).toMatchObject({ delimiter: ";", encoding: "windows-1252" });
    expect(result.counts).toMatchObject({ inserted: 2, rejected: 0 });
    const jurgen = (await t.asA({ method: "GET", url: "/api/v1/contacts?search=jurgen@" })).json().data[0];
    expect(jurgen).toMatchObject({
      firstName: "Jürgen",
      lastName: "Müller",
      externalId: "K-1",
      phone: "+49301234567",
    });
    expect(jurgen.address.country).toBe("DE");
    expect(jurgen.timezone).toBe("Europe/Berlin");
  });

  it("imports tab-separated files and rejects a bad timezone with its line", async () => {
    const result = await importAndWait(fixture("tab-separated.tsv"));
    expect(result.detected.delimiter).toBe("\t");
    expect(result.counts).toMatchObject({ inserted: 1, rejected: 1 });
    expect(result.rejections[0]).toMatchObject({ line: 3, field: "timezone" });
  });

  it("recovers from an unterminated quote and keeps the rows after it", async () => {
    const result = await importAndWait(fixture("unterminated-quote.csv"));
    expect(result.counts).toMatchObject({ inserted: 2, rejected: 1 });
    expect(result.rejections[0].line).toBe(2);
    expect(result.rejections[0].reason).toMatch(/quote/);
  });

  it("rejects rows whose identifiers collide with another contact, naming the other line", async () => {
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { externalId: "c-1", email: "taken@example.com" },
    });
    const csv = [
      "id,email,phone",
      "c-2,taken@example.com,", // email belongs to contact c-1
      "c-3,same@example.com,",
      "c-4,same@example.com,", // same email as line 3
      "c-5,fine@example.com,",
    ].join("\n");
    const result = await importAndWait(csv);
    expect(result.counts).toMatchObject({ rows: 4, inserted: 2, rejected: 2 });
    expect(result.rejections).toMatchObject([
      { line: 2, field: "email", raw: "c-2,taken@example.com," },
      { line: 4, field: "email" },
    ]);
    expect(result.rejections[1].reason).toMatch(/earlier line of this file/);
  });

  it("re-importing a file updates every contact and creates none", async () => {
    const csv = "email,first name,score\nre1@example.com,One,1\nre2@example.com,Two,2\n";
    const first = await importAndWait(csv);
    expect(first.counts).toMatchObject({ inserted: 2, updated: 0 });
    const again = await importAndWait(csv.replace(",1\n", ",10\n"));
    expect(again.counts).toMatchObject({
      rows: 2,
      inserted: 0,
      updated: 2,
      rejected: 0,
      mergedDuplicates: 0,
    });
    const one = (await t.asA({ method: "GET", url: "/api/v1/contacts?search=re1@" })).json().data[0];
    expect(one.attributes.score).toBe(10);
  });

  it("does not merge two people who share a phone number", async () => {
    const csv = "email,phone\nparent@example.com,+1 415 555 0101\nchild@example.com,+1 415 555 0101\n";
    const result = await importAndWait(csv);
    expect(result.counts).toMatchObject({ inserted: 1, rejected: 1 });
    expect(result.rejections[0]).toMatchObject({ line: 3, field: "phone" });
    expect(result.rejections[0].reason).toMatch(/different email/);
  });

  it("reports unnamed columns as warnings and still imports", async () => {
    const result = await importAndWait("email,,plan\nunnamed@example.com,x,gold\n");
    expect(result.status).toBe("completed");
    expect(result.detected.warnings.join(" ")).toMatch(/column 2/);
  });

  it("accepts multipart uploads with a mapping field", async () => {
    const boundary = "----omneural-test";
    const body = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="mapping"',
      "",
      JSON.stringify({ "Correo electrónico": "email" }),
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="contactos.csv"',
      "Content-Type: text/csv",
      "",
      "Correo electrónico,Nombre\nmultipart@example.com,María",
      `--${boundary}--`,
      "",
    ].join("\r\n");
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/imports",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(202);
    await runJobs();
    const status = (await t.asA({ method: "GET", url: `/api/v1/contacts/imports/${res.json().id}` })).json();
    expect(status).toMatchObject({ status: "completed", filename: "contactos.csv", counts: { inserted: 1 } });
    const maria = (await t.asA({ method: "GET", url: "/api/v1/contacts?search=multipart@" })).json().data[0];
    expect(maria.attributes).toEqual({ nombre: "María" });
  });

  it.each([
    ["no-header.csv", /header/],
    ["no-identifier.csv", /email, phone or external id/],
  ])("refuses %s at upload with a clear problem", async (name, message) => {
    const res = await upload(fixture(name));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "INVALID_CSV" });
    expect(res.json().detail).toMatch(message);
  });

  it("refuses an empty file, a bad mapping and an unknown mapping target", async () => {
    expect((await upload("")).json().code).toBe("INVALID_CSV");
    expect((await upload("email\na@b.co\n", "?mapping=not-json")).statusCode).toBe(400);
    const res = await upload("email\na@b.co\n", `?mapping=${encodeURIComponent('{"email":"shoe_size"}')}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/shoe_size/);
  });

  it("keeps imports private to their workspace", async () => {
    const res = await upload("email\nprivate-import@example.com\n");
    const id = res.json().id;
    expect((await t.asB({ method: "GET", url: `/api/v1/contacts/imports/${id}` })).statusCode).toBe(404);
    expect(
      (await t.asB({ method: "GET", url: `/api/v1/contacts/imports/${id}/rejections.csv` })).statusCode,
    ).toBe(404);
    const list = await t.asB({ method: "GET", url: "/api/v1/contacts/imports" });
    expect(list.json().data.map((i: { id: string }) => i.id)).not.toContain(id);
    await runJobs();
    const inB = await t.asB({ method: "GET", url: "/api/v1/contacts?search=private-import@" });
    expect(inB.json().data).toEqual([]);
  });

  it("queues the import as a job in the same transaction", async () => {
    const res = await upload("email\nqueued@example.com\n");
    const jobs = await t.database.handle.pool.query(
      "select task_identifier, key from graphile_worker.jobs where key = $1",
      [`import:${res.json().id}`],
    );
    expect(jobs.rows).toEqual([{ task_identifier: IMPORT_JOB, key: `import:${res.json().id}` }]);
    await runJobs();
  });
});
