import { insertApiKey } from "../auth/api-key.repository.ts";
import { generateApiKey } from "../auth/api-key.ts";
import { normalizeCountry, normalizeTimezone } from "../contacts/normalize.ts";
import type { Db } from "../db/database.ts";
import type { WorkspaceRow } from "../db/schema.ts";
import { type FieldProblem, validationFailed } from "../shared/errors.ts";
import { insertWorkspace } from "./workspace.repository.ts";

export interface CreatedWorkspace {
  workspace: WorkspaceRow;
  apiKey: string;
  apiKeyId: string;
}

/** Creates a workspace and its first API key in one transaction. The key is returned once. */
export async function createWorkspace(
  db: Db,
  input: { name: string; defaultCountry?: string; defaultTimezone?: string },
): Promise<CreatedWorkspace> {
  const problems: FieldProblem[] = [];
  const name = input.name.trim();
  if (!name || name.length > 200) problems.push({ field: "name", message: "must be 1 to 200 characters" });
  const country = normalizeCountry(input.defaultCountry ?? "US");
  if (!country.ok) problems.push({ field: "defaultCountry", message: country.error.message });
  const timezone = normalizeTimezone(input.defaultTimezone ?? "UTC");
  if (!timezone.ok) problems.push({ field: "defaultTimezone", message: timezone.error.message });
  if (problems.length || !country.ok || !timezone.ok) throw validationFailed(problems);

  const key = generateApiKey();
  return db.transaction().execute(async (trx) => {
    const workspace = await insertWorkspace(trx, {
      name,
      defaultCountry: country.value,
      defaultTimezone: timezone.value,
    });
    const created = await insertApiKey(trx, {
      workspaceId: workspace.id,
      name: "default",
      prefix: key.prefix,
      hash: key.hash,
    });
    return { workspace, apiKey: key.key, apiKeyId: created.id };
  });
}
