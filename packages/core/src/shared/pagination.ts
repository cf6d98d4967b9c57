/** Keyset pagination by id, newest first: opaque cursors and pages of `limit` (the query reads limit + 1). */
import { decodeCursor, encodeCursor } from "../contacts/contact.ts";
import { validationFailed } from "./errors.ts";

/** The id after which a page starts, from a `cursor` query parameter. */
export function afterIdOf(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = decodeCursor(cursor);
  if (!id) throw validationFailed([{ field: "cursor", message: "is not a cursor returned by this API" }]);
  return id;
}

/** A page from rows read with `limit + 1`: the extra row only says there is a next page. */
export async function pageOf<Row extends { id: string }, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item | Promise<Item>,
): Promise<{ data: Item[]; nextCursor: string | null }> {
  const page = rows.slice(0, limit);
  return {
    data: await Promise.all(page.map(toItem)),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
  };
}

/** A name as stored: trimmed, and not blank. */
export function cleanName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw validationFailed([{ field: "name", message: "must not be blank" }]);
  return trimmed;
}
