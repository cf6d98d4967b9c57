/**
 * The audit log's pure parts: what an entry is, the list's cursor, and the rule that keeps details small
 * and free of personal data. See docs/audit-log.md.
 */

/**
 * Who acted: a signed-in member, an API key, a scheduled job of the system, an administrator's
 * `omneural` command (`cli`), or someone not signed in (`anonymous`: a failed sign-in).
 */
export interface AuditActor {
  kind: "user" | "api_key" | "system" | "cli" | "anonymous";
  /** The user's or the API key's id; the job's name for the system; the OS user for the CLI. */
  id: string;
  /**
   * The label of a `cli` or `anonymous` actor (`root@host (omneural CLI)`, the email a failed sign-in
   * gave); members and keys are labelled from the database, the system by its id.
   */
  label?: string;
}

/** One change, as the API (or a job) reports it. */
export interface AuditInput {
  actor: AuditActor;
  /** `<object type>.<verb>`: campaign.launch, contact.erase, template.update … */
  action: string;
  /** The object's id (a UUID, a channel, a retention kind); null when the action has no one object. */
  objectId?: string | null;
  requestId?: string | null;
  status?: number | null;
  ip?: string | null;
  /** Small facts, never personal data: see `cleanDetails`. */
  details?: Record<string, unknown>;
}

export const ACTION_PATTERN = /^[a-z_]+\.[a-z_]+$/;

/** The object type an action is about: the part before the dot (`campaign.launch` → `campaign`). */
export function objectTypeOf(action: string): string {
  if (!ACTION_PATTERN.test(action)) throw new Error(`not an audit action: ${action}`);
  return action.slice(0, action.indexOf("."));
}

/** A detail value that can be kept: an id, a role, a kind, a flag or a count; never free text. */
const TOKEN = /^[A-Za-z0-9_.:-]{1,100}$/;
const MAX_ARRAY = 50;

function cleanValue(value: unknown): unknown {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string") return TOKEN.test(value) ? value : undefined;
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ARRAY).map(cleanValue);
    return items.every((item) => item !== undefined) ? items : undefined;
  }
  return undefined;
}

/**
 * The details an entry may keep: scalars that look like ids, roles, kinds, flags or counts, and short
 * arrays of them. Anything else (text with spaces or an @, objects, long strings) is dropped, so that a
 * mistake in a caller's whitelist cannot put an email, a name or a body into the log.
 */
export function cleanDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details ?? {})) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,40}$/.test(key)) continue;
    const kept = cleanValue(value);
    if (kept !== undefined) clean[key] = kept;
  }
  return clean;
}

/** The list's position: the last entry's instant and id (entries are ordered by both, newest first). */
export interface AuditCursor {
  at: Date;
  id: string;
}

export function encodeAuditCursor(cursor: AuditCursor): string {
  return Buffer.from(`${cursor.at.toISOString()}|${cursor.id}`).toString("base64url");
}

export function decodeAuditCursor(raw: string): AuditCursor | undefined {
  const match =
    /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(
      Buffer.from(raw, "base64url").toString("utf8"),
    );
  if (!match) return undefined;
  const at = new Date(match[1]!);
  return Number.isNaN(at.getTime()) ? undefined : { at, id: match[2]! };
}

/** `campaign`, `campaign.` and `campaign.launch` all name actions; the first two every `campaign.*`. */
export function actionFilterOf(action: string): { exact: string } | { prefix: string } {
  const trimmed = action.endsWith(".") ? action.slice(0, -1) : action;
  return trimmed.includes(".") ? { exact: trimmed } : { prefix: `${trimmed}.` };
}
