/**
 * GET /api/v1/contacts/export.csv: the contacts matching a search or filter, as CSV, streamed page by
 * page (a cursor over the same service GET /contacts uses), so an export of millions of rows never holds
 * more than one page in memory. Reading only: viewers may export.
 */
import { Readable } from "node:stream";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { type Contact, ContactListQuery } from "@omneural/contracts/contacts";
import { searchContacts, type WorkspaceContext } from "@omneural/core/contacts/contact.service";
import type { Db } from "@omneural/core/db/database";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

/** The filters of GET /contacts, without its paging. */
export const ContactExportQuery = Type.Object(
  {
    search: ContactListQuery.properties.search,
    attribute: ContactListQuery.properties.attribute,
    archived: ContactListQuery.properties.archived,
  },
  { additionalProperties: false },
);

/** Rows fetched per query: large enough to be quick, small enough to keep memory flat. */
export const EXPORT_PAGE_SIZE = 500;

const CHANNELS = ["email", "sms", "mail", "ads"] as const;

export const EXPORT_COLUMNS = [
  "id",
  "externalId",
  "email",
  "phone",
  "firstName",
  "lastName",
  "addressLine1",
  "addressLine2",
  "city",
  "region",
  "postalCode",
  "country",
  "timezone",
  ...CHANNELS.map((channel) => `consent_${channel}`),
  "attributes",
  "createdAt",
  "updatedAt",
] as const;

/**
 * One CSV cell: quoted when it holds a delimiter, quote or line break, and, against CSV injection
 * (a spreadsheet running `=HYPERLINK(...)` from a contact's name), prefixed with a ' when it starts
 * with = + - @ (or a tab or carriage return, which some spreadsheets skip before a formula).
 */
export function csvCell(value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(cells: (string | null | undefined)[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

function contactLine(c: Contact): string {
  return csvLine([
    c.id,
    c.externalId,
    c.email,
    c.phone,
    c.firstName,
    c.lastName,
    c.address.line1,
    c.address.line2,
    c.address.city,
    c.address.region,
    c.address.postalCode,
    c.address.country,
    c.timezone,
    ...CHANNELS.map((channel) => c.consent[channel]),
    Object.keys(c.attributes).length ? JSON.stringify(c.attributes) : "",
    c.createdAt,
    c.updatedAt,
  ]);
}

/** The CSV text, one page of contacts per chunk; the next page is read only when the client took this one. */
export async function* contactsCsv(
  db: Db,
  ws: WorkspaceContext,
  filters: Omit<ContactListQuery, "limit" | "cursor">,
  pageSize = EXPORT_PAGE_SIZE,
): AsyncGenerator<string> {
  yield csvLine([...EXPORT_COLUMNS]);
  let cursor: string | undefined;
  do {
    const page = await searchContacts(db, ws, {
      ...filters,
      limit: pageSize,
      ...(cursor ? { cursor } : {}),
    });
    if (page.data.length) yield page.data.map(contactLine).join("");
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

export async function contactExportRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;

  app.get(
    "/contacts/export.csv",
    {
      schema: {
        tags: ["contacts"],
        summary: "Export contacts as CSV",
        description: `The contacts GET /contacts would list for the same \`search\`, \`attribute\` and \`archived\`, newest first, all pages, streamed. Columns: ${EXPORT_COLUMNS.join(", ")} (attributes as JSON). Cells starting with = + - or @ are prefixed with ' so spreadsheets do not run them as formulas.`,
        querystring: ContactExportQuery,
        produces: ["text/csv"],
        response: { 200: Type.String({ description: "CSV" }), ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const filters = request.query;
      // Bad filters (an attribute filter that is not key:value) answer 400 before the stream starts.
      await searchContacts(db, request.workspace, { ...filters, limit: 1 });
      const day = new Date().toISOString().slice(0, 10);
      const stream = Readable.from(contactsCsv(db, request.workspace, filters));
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="contacts-${day}.csv"`)
        .header("cache-control", "no-store")
        .send(stream as unknown as string);
    },
  );
}
