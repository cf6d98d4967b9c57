/**
 * /api/v1/retention: the workspace's retention policies (outdated prospects, undeliverable contacts,
 * likely duplicates, finished journeys, print-batch files), their dry and real runs, and the record of
 * every run.
 * See docs/data-lifecycle.md, "Retention policies".
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  RetentionKindParams,
  RetentionPolicy,
  RetentionPolicyList,
  RetentionPolicyPut,
  RetentionRun,
  RetentionRunList,
  RetentionRunListQuery,
  RetentionRunRequest,
} from "@omneural/contracts/retention";
import {
  listRetentionPolicies,
  listRetentionRuns,
  putRetentionPolicy,
  runRetentionPolicy,
} from "@omneural/core/retention/retention.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function retentionRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const { tombstones: tombstoneKey } = app.deps.keys;
  const tags = ["retention"];

  app.get(
    "/retention/policies",
    {
      schema: {
        tags,
        summary: "List retention policies",
        response: { 200: RetentionPolicyList, ...problemResponses(401) },
      },
    },
    async (request) => ({ data: await listRetentionPolicies(db, request.workspace) }),
  );

  app.put(
    "/retention/policies/:kind",
    {
      schema: {
        tags,
        summary: "Set a retention policy",
        description:
          "Settings by kind: outdated_prospects {inactiveDays, action: delete | anonymise | archive, repermissionCampaignId?, graceDays? (30)}; undeliverable {action: delete | anonymise | archive}; duplicates {match? (email, phone, name_and_address: all), maxGroups? (1000)}; finished_journeys and print_files {olderThanDays}. `archive` keeps the contact and all its data but puts it out of every audience, campaign and send until POST /contacts/{id}/restore or a new engagement. `duplicates` merges each group of likely duplicates into its oldest contact, as POST /contacts/merge does (the most restrictive consent wins). Enabled policies run daily at 03:17 UTC.",
        params: RetentionKindParams,
        body: RetentionPolicyPut,
        response: { 200: RetentionPolicy, ...problemResponses(400, 401) },
      },
    },
    async (request) => putRetentionPolicy(db, request.workspace, request.params.kind, request.body),
  );

  app.post(
    "/retention/policies/:kind/run",
    {
      schema: {
        tags,
        summary: "Run a retention policy (a dry run unless dryRun: false)",
        description:
          "A dry run returns the exact counts (deleted, anonymised or archived, enrolled; for duplicates: groups, merged, per reason, skipped…) and a sample of up to 20 rows, changing nothing; the duplicates policy's dry run makes its merges in a transaction it rolls back, since one merge can make the next group. A real run that would delete, anonymise or merge away more than the policy's maxShare of the workspace's contacts stops with status needs_confirmation unless confirm is true (archiving is not held: it keeps every row and restore undoes it).",
        params: RetentionKindParams,
        body: RetentionRunRequest,
        response: { 200: RetentionRun, ...problemResponses(400, 401, 404, 409) },
      },
      // No body at all is a dry run.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) =>
      runRetentionPolicy(db, request.workspace, request.params.kind, {
        dryRun: request.body.dryRun ?? true,
        confirm: request.body.confirm ?? false,
        tombstoneKey,
      }),
  );

  app.get(
    "/retention/runs",
    {
      schema: {
        tags,
        summary: "List retention runs, newest first",
        querystring: RetentionRunListQuery,
        response: { 200: RetentionRunList, ...problemResponses(400, 401) },
      },
    },
    async (request) => ({ data: await listRetentionRuns(db, request.workspace, request.query) }),
  );
}
