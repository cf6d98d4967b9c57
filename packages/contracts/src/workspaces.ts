/** The workspace an API key belongs to. */
import Type, { type Static } from "typebox";
import { Uuid } from "./common.ts";

export const Workspace = Type.Object({
  id: Uuid,
  name: Type.String(),
  defaultCountry: Type.String(),
  defaultTimezone: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
});
export type Workspace = Static<typeof Workspace>;
