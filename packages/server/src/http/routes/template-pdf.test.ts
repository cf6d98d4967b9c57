/** GET /api/v1/templates/{id}/preview.pdf: a mail template printed for a contact or a sample one. */
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

let mailId: string;
let emailId: string;
let contactId: string;

async function created(who: "a" | "b", url: string, payload: Record<string, unknown>) {
  const response = await (who === "a" ? t.asA : t.asB)({ method: "POST", url, payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id as string;
}

/** Whether a body is a PDF document (the content streams are compressed, so the text is not checked). */
const isPdf = (body: Buffer) => body.subarray(0, 5).toString("latin1") === "%PDF-";

beforeAll(async () => {
  mailId = await created("a", "/api/v1/templates", {
    name: "Letter",
    channel: "mail",
    content: { layout: "letter", body: "Dear {{ contact.firstName }},\nour spring catalogue is here." },
  });
  emailId = await created("a", "/api/v1/templates", {
    name: "Email",
    channel: "email",
    content: { subject: "Hi", html: "<p>Hi</p>" },
  });
  contactId = await created("a", "/api/v1/contacts", {
    email: "grace@navy.example",
    firstName: "Grace",
    lastName: "Hopper",
    address: { line1: "1 Navy Way", city: "Arlington", region: "VA", postalCode: "22202", country: "US" },
  });
});

describe("GET /api/v1/templates/{id}/preview.pdf", () => {
  it("prints a mail template for a contact", async () => {
    const response = await t.asA({
      method: "GET",
      url: `/api/v1/templates/${mailId}/preview.pdf?contactId=${contactId}`,
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers["content-type"]).toBe("application/pdf");
    expect(response.headers["content-disposition"]).toContain("inline");
    expect(isPdf(response.rawPayload)).toBe(true);
  });

  it("prints it for a sample contact without contactId, and without a return address set", async () => {
    const response = await t.asA({ method: "GET", url: `/api/v1/templates/${mailId}/preview.pdf` });
    expect(response.statusCode, response.body).toBe(200);
    expect(isPdf(response.rawPayload)).toBe(true);
  });

  it("answers 400 for a template of another channel", async () => {
    const response = await t.asA({ method: "GET", url: `/api/v1/templates/${emailId}/preview.pdf` });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe("VALIDATION_FAILED");
  });

  it("answers 404 for another workspace's template or contact, and is open to viewers", async () => {
    expect((await t.asB({ method: "GET", url: `/api/v1/templates/${mailId}/preview.pdf` })).statusCode).toBe(
      404,
    );
    const own = await created("b", "/api/v1/templates", {
      name: "B letter",
      channel: "mail",
      content: { body: "Hi" },
    });
    const cross = await t.asB({
      method: "GET",
      url: `/api/v1/templates/${own}/preview.pdf?contactId=${contactId}`,
    });
    expect(cross.statusCode).toBe(404);
    const viewer = await t.member(t.a, "viewer");
    const read = await t.asSession(viewer, { method: "GET", url: `/api/v1/templates/${mailId}/preview.pdf` });
    expect(read.statusCode, read.body).toBe(200);
  });
});
