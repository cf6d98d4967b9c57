/** Shapes shared by every area: problem details, ids, pagination. */
import Type, { type Static } from "typebox";

export const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Uuid = Type.String({ format: "uuid", description: "A UUID" });

export const FieldProblem = Type.Object({
  field: Type.String({
    description: "Where the problem is: a body field path, a query parameter or a CSV column",
  }),
  message: Type.String(),
  nodeId: Type.Optional(Nullable(Type.String({ description: "The workflow node concerned" }))),
});

/** RFC 9457 problem details, with our stable `code`. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: "A URI identifying the problem type" }),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: "A stable error code, listed in docs/errors.md" }),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(FieldProblem)),
  },
  { additionalProperties: true, $id: "Problem" },
);
export type Problem = Static<typeof Problem>;

export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 500, default: 50, description: "Page size (1 to 500)" }),
  ),
  cursor: Type.Optional(
    Type.String({ maxLength: 500, description: "The `nextCursor` of the previous page" }),
  ),
};
