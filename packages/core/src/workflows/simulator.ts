/**
 * Dry run with time travel: runs the engine's own transition function for one member, real or
 * hypothetical, with a fast-forwarded clock and a list of hypothetical events, and returns the timeline
 * (each node, when, what would be sent, and why each branch was taken). Nothing is written.
 */
import type { Rule } from "@omneural/contracts/audiences";
import type {
  Duration,
  SimulateRequest,
  Simulation,
  TraceEntry,
  WorkflowGraph,
} from "@omneural/contracts/workflows";
import { sql } from "kysely";
import {
  evaluateRule,
  type RefContact,
  type RefEvent,
  type RefWorld,
} from "../audiences/audience-evaluator.ts";
import { decisionWithoutResponses } from "../campaigns/experiment.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { notFound, validationFailed } from "../shared/errors.ts";
import { addDuration, memberTimeZone } from "./local-time.ts";
import {
  compileWorkflow,
  type ExperimentState,
  type FactEvent,
  type MemberState,
  transition,
} from "./transition.ts";
import { getWorkflowVersion } from "./workflow.service.ts";

const MAX_STEPS = 1000;
const SIMULATION_CAMPAIGN = "simulation";
const HYPOTHETICAL_ID = "00000000-0000-4000-8000-000000000000";

const CONTACT_KEYS: Record<string, keyof RefContact> = {
  externalId: "external_id",
  email: "email",
  phone: "phone",
  firstName: "first_name",
  lastName: "last_name",
  addressLine1: "address_line1",
  addressLine2: "address_line2",
  city: "city",
  region: "region",
  postalCode: "postal_code",
  country: "country",
  timezone: "timezone",
  emailConsent: "email_consent",
  smsConsent: "sms_consent",
  mailConsent: "mail_consent",
  adsConsent: "ads_consent",
};

export async function simulateWorkflow(
  db: Db,
  ws: WorkspaceContext,
  workflowId: string,
  version: number,
  request: SimulateRequest,
  now = new Date(),
): Promise<Simulation> {
  const published = await getWorkflowVersion(db, ws, workflowId, version);
  const wf = compileWorkflow(published.graph as WorkflowGraph);
  const start = request.start ? new Date(request.start) : now;
  const horizon = addDuration(start, { days: request.horizonDays ?? 400 });
  const contact = await buildContact(db, ws, request, start);
  const world = await buildWorld(db, ws, contact, request, start);
  const timeZone = memberTimeZone(contact.timezone, ws.defaultTimezone);

  let member: MemberState = {
    contactId: contact.id,
    nodeId: wf.entryId,
    state: "active",
    enrolledAt: start,
    nodeEnteredAt: start,
    iteration: 1,
    seq: 0,
  };
  const timeline: TraceEntry[] = [];
  const sends: { at: number; nodeId: string }[] = [];
  let clock = start;
  let finishedAt: Date | null = null;
  const wakeTypes = new Set(wf.wakeEventTypes);
  // Experiments start when this member reaches them; no responses are measured, so when the window ends
  // the fallback stands in for the winner (see decisionWithoutResponses).
  const experiments = new Map<string, ExperimentState>();
  for (let step = 0; step < MAX_STEPS; step++) {
    const at = clock;
    for (const node of wf.experimentNodes) {
      const state = experiments.get(node.id);
      if (state?.status !== "testing" || state.decideAt.getTime() > at.getTime() || !node.experiment)
        continue;
      const decision = decisionWithoutResponses(
        node.experiment,
        node.branches.map((b) => b.key),
      );
      experiments.set(node.id, { status: "decided", decideAt: state.decideAt, ...decision });
    }
    const visible: FactEvent[] = world.events
      .filter((e) => e.occurredAt.getTime() <= at.getTime() && e.occurredAt.getTime() >= start.getTime())
      .filter((e) => wakeTypes.has(e.type))
      .map((e) => ({ type: e.type, occurredAt: e.occurredAt, properties: withSendNode(e, sends) }));
    const result = transition(
      wf,
      SIMULATION_CAMPAIGN,
      member,
      {
        timeZone,
        attributes: contact.attributes,
        events: visible,
        experiment: (nodeId) => experiments.get(nodeId),
        condition(node) {
          // A simulated member has no entering event (a workflow version has no entry mode; that is
          // the campaign's): `entry_event` conditions are false, as for a member who entered otherwise.
          const inWorld: RefWorld = {
            ...world,
            events: world.events.filter((e) => e.occurredAt.getTime() <= at.getTime()),
            entryEvent: null,
          };
          if (node.rule) return evaluateRule(node.rule as Rule, contact, inWorld, at) ? "yes" : "no";
          const branch = (node.branches ?? []).find((b) =>
            evaluateRule(b.rule as Rule, contact, inWorld, at),
          );
          return branch?.key ?? "default";
        },
      },
      at,
    );
    for (const effect of result.experiments ?? []) {
      if (effect.kind === "start")
        experiments.set(effect.nodeId, { status: "testing", decideAt: effect.decideAt });
    }
    for (const entry of result.trace) {
      const effect = result.effects.find((e) => e.nodeId === entry.nodeId && e.kind !== "update");
      if (effect && (entry.action === "send" || entry.action === "webhook"))
        sends.push({ at: at.getTime(), nodeId: entry.nodeId });
      timeline.push({
        at: entry.at.toISOString(),
        nodeId: entry.nodeId,
        nodeType: entry.nodeType,
        action: entry.action,
        reason: entry.reason,
        ...(entry.outlet ? { outlet: entry.outlet } : {}),
        ...(effect && effect.kind === "send"
          ? {
              send: {
                channel: effect.channel,
                templateId: effect.templateId,
                destination: effect.destination,
                url: null,
              },
            }
          : {}),
        ...(effect && effect.kind === "webhook"
          ? { send: { channel: "webhook", templateId: null, destination: null, url: effect.url } }
          : {}),
      });
    }
    if (result.moved) {
      member = {
        ...member,
        nodeId: result.nodeId,
        state: result.state,
        nodeEnteredAt: result.nodeEnteredAt,
        seq: member.seq + 1,
      };
    }
    if (result.state !== "active") {
      finishedAt = at;
      break;
    }
    // Next look: when the member is due, or earlier if an event they wait for arrives first.
    const due = result.dueAt ?? at;
    const next = world.events.find(
      (e) =>
        wakeTypes.has(e.type) &&
        e.occurredAt.getTime() > at.getTime() &&
        e.occurredAt.getTime() < due.getTime(),
    );
    clock = next ? next.occurredAt : due;
    if (clock.getTime() > horizon.getTime()) {
      timeline.push({
        at: horizon.toISOString(),
        nodeId: member.nodeId,
        nodeType: wf.nodes.get(member.nodeId)?.type ?? "",
        action: "horizon",
        reason: `still waiting at ${member.nodeId} at the end of the simulated ${request.horizonDays ?? 400} days (next look at ${clock.toISOString()})`,
      });
      break;
    }
  }
  return {
    timeline,
    state: member.state,
    outcome: member.state === "active" || member.state === "failed" ? null : member.state,
    finalNodeId: member.nodeId,
    finishedAt: finishedAt?.toISOString() ?? null,
  };
}

/** A response that names no send node is taken as a response to the latest send before it. */
function withSendNode(event: RefEvent, sends: { at: number; nodeId: string }[]): Record<string, unknown> {
  if (!event.type.startsWith("message.")) return event.properties;
  const properties: Record<string, unknown> = { campaignId: SIMULATION_CAMPAIGN, ...event.properties };
  if (properties.nodeId === undefined) {
    const latest = sends.filter((s) => s.at <= event.occurredAt.getTime()).at(-1);
    if (latest) properties.nodeId = latest.nodeId;
  }
  return properties;
}

async function buildContact(
  db: Db,
  ws: WorkspaceContext,
  request: SimulateRequest,
  start: Date,
): Promise<RefContact> {
  let base: RefContact = {
    id: HYPOTHETICAL_ID,
    external_id: null,
    email: null,
    phone: null,
    first_name: null,
    last_name: null,
    address_line1: null,
    address_line2: null,
    city: null,
    region: null,
    postal_code: null,
    country: null,
    timezone: null,
    attributes: {},
    email_consent: "never_asked",
    sms_consent: "never_asked",
    mail_consent: "never_asked",
    ads_consent: "never_asked",
    created_at: start,
    updated_at: start,
  };
  if (request.contactId) {
    const row = await db
      .selectFrom("contacts")
      .selectAll()
      .where("workspace_id", "=", ws.id)
      .where("id", "=", request.contactId)
      .executeTakeFirst();
    if (!row) throw notFound("contact", request.contactId);
    const { workspace_id: _, ...fields } = row;
    base = { ...base, ...fields, id: row.id };
  }
  const overrides = request.contact ?? {};
  for (const [key, value] of Object.entries(overrides)) {
    if (key === "attributes") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw validationFailed([{ field: "contact.attributes", message: "must be an object" }]);
      }
      base.attributes = { ...base.attributes, ...(value as Record<string, unknown>) };
      continue;
    }
    const column = CONTACT_KEYS[key];
    if (!column) {
      throw validationFailed([
        {
          field: `contact.${key}`,
          message: `is not a contact field (known: ${Object.keys(CONTACT_KEYS).join(", ")}, attributes)`,
        },
      ]);
    }
    if (value !== null && typeof value !== "string") {
      throw validationFailed([{ field: `contact.${key}`, message: "must be a string or null" }]);
    }
    (base as unknown as Record<string, unknown>)[column] = value;
  }
  return base;
}

async function buildWorld(
  db: Db,
  ws: WorkspaceContext,
  contact: RefContact,
  request: SimulateRequest,
  start: Date,
): Promise<RefWorld> {
  const events: RefEvent[] = [];
  const listMembers = new Set<string>();
  if (request.contactId) {
    const { rows } = await sql<{ type: string; properties: Record<string, unknown>; occurred_at: Date }>`
      select type, properties, occurred_at from events
      where workspace_id = ${ws.id} and contact_id = ${contact.id}
      order by occurred_at desc limit 5000`.execute(db);
    for (const r of rows)
      events.push({
        contactId: contact.id,
        type: r.type,
        properties: r.properties,
        occurredAt: r.occurred_at,
      });
    const lists = await db
      .selectFrom("list_members")
      .select("list_id")
      .where("workspace_id", "=", ws.id)
      .where("contact_id", "=", contact.id)
      .execute();
    for (const l of lists) listMembers.add(`${l.list_id}:${contact.id}`);
  }
  for (const [i, e] of (request.events ?? []).entries()) {
    if ((e.at === undefined) === (e.after === undefined)) {
      throw validationFailed([{ field: `events[${i}]`, message: "give either at or after" }]);
    }
    const occurredAt = e.at ? new Date(e.at) : addDuration(start, e.after as Duration);
    events.push({ contactId: contact.id, type: e.type, properties: e.properties ?? {}, occurredAt });
  }
  events.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
  const audiences = await db
    .selectFrom("audiences")
    .select(["id", "kind", "definition"])
    .where("workspace_id", "=", ws.id)
    .execute();
  return {
    events,
    listMembers,
    audiences: new Map(
      audiences.map((a) => [
        a.id,
        { kind: a.kind as "segment" | "list", definition: (a.definition as Rule | null) ?? null },
      ]),
    ),
  };
}
