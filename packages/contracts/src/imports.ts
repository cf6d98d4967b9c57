/** CSV imports of contacts. */
import Type, { type Static } from "typebox";
import { Nullable, Uuid } from "./common.ts";

export const ImportStatus = Type.Union([
  Type.Literal("receiving"),
  Type.Literal("queued"),
  Type.Literal("processing"),
  Type.Literal("completed"),
  Type.Literal("failed"),
]);

export const ImportCreateQuery = Type.Object(
  {
    listId: Type.Optional(
      Type.String({
        format: "uuid",
        description: "A static list (audience of kind list) to add every imported contact to",
      }),
    ),
    filename: Type.Optional(Type.String({ maxLength: 255 })),
    mapping: Type.Optional(
      Type.String({
        maxLength: 20_000,
        description:
          'JSON object from CSV header to target: a field (email, phone, externalId, firstName, lastName, fullName, address.line1, address.line2, address.city, address.region, address.postalCode, address.country, timezone, consent.email, consent.sms, consent.mail, consent.ads), "attributes.<key>", or "ignore". Headers not named are detected.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ImportCreateQuery = Static<typeof ImportCreateQuery>;

export const ImportAccepted = Type.Object({ id: Uuid, status: ImportStatus, url: Type.String() });

export const ImportRejection = Type.Object({
  line: Type.Integer(),
  field: Nullable(Type.String()),
  reason: Type.String(),
  raw: Type.String(),
});

export const ImportColumn = Type.Object({
  header: Type.String(),
  target: Type.String({ description: 'A contact field, "attributes.<key>" or "ignore"' }),
  detected: Type.Boolean(),
});

export const Import = Type.Object({
  id: Uuid,
  status: ImportStatus,
  filename: Nullable(Type.String()),
  sizeBytes: Type.Integer(),
  detected: Nullable(
    Type.Object({
      delimiter: Type.String(),
      encoding: Type.String(),
      columns: Type.Array(ImportColumn),
      warnings: Type.Array(Type.String(), {
        description: "Choices made automatically that are worth a look",
      }),
    }),
  ),
  counts: Type.Object({
    rows: Type.Integer({ description: "Data rows read so far (excluding the header)" }),
    inserted: Type.Integer(),
    updated: Type.Integer(),
    rejected: Type.Integer(),
    mergedDuplicates: Type.Integer({ description: "Rows merged into an earlier row of the same file" }),
  }),
  progress: Type.Number({ minimum: 0, maximum: 1, description: "Share of the file processed" }),
  error: Nullable(Type.String()),
  rejections: Type.Array(ImportRejection, { description: "The first 100 rejected rows, by line number" }),
  rejectionsUrl: Nullable(Type.String({ description: "All rejected rows as CSV" })),
  createdAt: Type.String({ format: "date-time" }),
  startedAt: Nullable(Type.String({ format: "date-time" })),
  finishedAt: Nullable(Type.String({ format: "date-time" })),
});
export type Import = Static<typeof Import>;

export const ImportIdParams = Type.Object({ id: Uuid });

export const ImportList = Type.Object({ data: Type.Array(Import) });
