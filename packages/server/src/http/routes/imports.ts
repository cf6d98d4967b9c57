/** /api/v1/contacts/imports: CSV uploads, streamed into the database and processed by the worker. */
import { Readable } from "node:stream";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  Import,
  ImportAccepted,
  ImportCreateQuery,
  ImportIdParams,
  ImportList,
} from "@omneural/contracts/imports";
import {
  getImport,
  parseMappingParam,
  receiveImport,
  recentImports,
  rejectionsCsv,
} from "@omneural/core/imports/import.service";
import { AppError } from "@omneural/core/shared/errors";
import type { FastifyInstance, FastifyRequest } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

/**
 * A multipart file part, refused once it passes the upload limit: busboy stops the part at the limit and
 * only marks it `truncated` (the error @fastify/multipart raises goes to the part iterator we have left),
 * so without this check a file over the limit would be imported cut short.
 */
async function* untruncated(file: Readable & { truncated?: boolean }): AsyncIterable<Uint8Array> {
  for await (const chunk of file) yield chunk as Uint8Array;
  if (file.truncated) {
    throw new AppError("PAYLOAD_TOO_LARGE", "the file is larger than the upload limit (IMPORT_MAX_BYTES)");
  }
}

/** The file part of a multipart upload, or the raw body, as a byte stream. */
async function uploadSource(
  request: FastifyRequest,
): Promise<{ source: AsyncIterable<Uint8Array>; filename: string | null; mapping?: string }> {
  if (request.isMultipart()) {
    let mapping: string | undefined;
    for await (const part of request.parts()) {
      if (part.type === "field") {
        if (part.fieldname === "mapping") mapping = String(part.value);
        continue;
      }
      // The file must be the last part: fields after it cannot be read without buffering the file.
      return { source: untruncated(part.file), filename: part.filename || null, mapping };
    }
    throw new AppError("VALIDATION_FAILED", "the multipart body has no file part", {
      errors: [{ field: "file", message: "is required" }],
    });
  }
  return { source: request.body as Readable, filename: null };
}

export async function importRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const { config } = app.deps;
  const tags = ["imports"];

  // Raw CSV bodies are not parsed by Fastify: the handler streams them.
  app.addContentTypeParser(["text/csv", "application/csv", "text/plain"], (_request, payload, done) =>
    done(null, payload),
  );

  app.post(
    "/contacts/imports",
    {
      bodyLimit: config.importMaxBytes,
      schema: {
        tags,
        summary: "Import contacts from a CSV file",
        description:
          "Send the file as `text/csv` (raw body) or as `multipart/form-data` with a `file` part (and an optional `mapping` field before it). The file is streamed, checked (header, encoding, delimiter, identifier column) and queued; poll the returned URL for progress, counts and rejected rows.",
        querystring: ImportCreateQuery,
        consumes: ["text/csv", "multipart/form-data"],
        response: { 202: ImportAccepted, ...problemResponses(400, 401, 413, 415) },
      },
    },
    async (request, reply) => {
      const upload = await uploadSource(request);
      const mapping = parseMappingParam(upload.mapping ?? request.query.mapping);
      const row = await receiveImport(db, request.workspace, {
        filename: request.query.filename ?? upload.filename,
        options: {
          ...(mapping ? { mapping } : {}),
          ...(request.query.listId ? { listId: request.query.listId } : {}),
        },
        source: upload.source,
        maxBytes: config.importMaxBytes,
        enqueue: true,
      });
      return reply
        .code(202)
        .header("location", `/api/v1/contacts/imports/${row.id}`)
        .send({
          id: row.id,
          status: row.status,
          url: `${config.publicUrl}/api/v1/contacts/imports/${row.id}`,
        });
    },
  );

  app.get(
    "/contacts/imports",
    { schema: { tags, summary: "Recent imports", response: { 200: ImportList, ...problemResponses(401) } } },
    async (request) => ({ data: await recentImports(db, request.workspace, config.publicUrl) }),
  );

  app.get(
    "/contacts/imports/:id",
    {
      schema: {
        tags,
        summary: "An import's status, counts and rejected rows",
        params: ImportIdParams,
        response: { 200: Import, ...problemResponses(401, 404) },
      },
    },
    async (request) => getImport(db, request.workspace, request.params.id, config.publicUrl),
  );

  app.get(
    "/contacts/imports/:id/rejections.csv",
    {
      schema: {
        tags,
        summary: "Download the rejected rows as CSV",
        description:
          "Columns: line, error, then the file's own columns, so the rows can be fixed and imported again.",
        params: ImportIdParams,
        produces: ["text/csv"],
        response: { 200: Type.String({ description: "CSV" }), ...problemResponses(401, 404) },
      },
    },
    async (request, reply) => {
      await getImport(db, request.workspace, request.params.id, config.publicUrl); // 404 before streaming
      const stream = Readable.from(rejectionsCsv(db, request.workspace, request.params.id));
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="import-${request.params.id}-rejected.csv"`)
        .send(stream as unknown as string);
    },
  );
}
