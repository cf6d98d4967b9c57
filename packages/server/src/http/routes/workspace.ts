/** /api/v1/workspace: the workspace of the calling key. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Provider, ProviderChannelParams, ProviderInput, ProviderList } from "@omneural/contracts/providers";
import {
  DeliveryPolicies,
  DeliveryPolicy,
  PolicyChannelParams,
  Sender,
  Workspace,
  WorkspaceHooks,
} from "@omneural/contracts/workspaces";
import { getDeliveryPolicies, setDeliveryPolicy } from "@omneural/core/delivery/policy.service";
import { listProviders, removeProvider, setProvider } from "@omneural/core/delivery/provider.service";
import { getSender, setSender } from "@omneural/core/delivery/sender.service";
import { emailHookToken } from "@omneural/core/responses/email-feedback";
import { findWorkspace } from "@omneural/core/workspaces/workspace.repository";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

export async function workspaceRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/workspace",
    {
      schema: {
        tags: ["workspace"],
        summary: "The workspace this API key belongs to",
        response: { 200: Workspace, ...problemResponses(401) },
      },
    },
    async (request) => {
      const row = (await findWorkspace(app.deps.database.db, request.workspace.id))!;
      return {
        id: row.id,
        name: row.name,
        defaultCountry: row.default_country,
        defaultTimezone: row.default_timezone,
        createdAt: row.created_at.toISOString(),
      };
    },
  );

  app.get(
    "/workspace/sender",
    {
      schema: {
        tags: ["workspace"],
        summary: "The sender identity and postal address of marketing email",
        response: { 200: Sender, ...problemResponses(401, 404) },
      },
    },
    async (request) => getSender(app.deps.database.db, request.workspace),
  );

  app.put(
    "/workspace/sender",
    {
      schema: {
        tags: ["workspace"],
        summary: "Set the sender identity and postal address",
        description:
          "Marketing email is sent from this address and carries this postal address in its footer; until it is set, email sends fail with a reason that says so.",
        body: Sender,
        response: { 200: Sender, ...problemResponses(400, 401) },
      },
    },
    async (request) => setSender(app.deps.database.db, request.workspace, request.body),
  );

  app.get(
    "/workspace/hooks",
    {
      schema: {
        tags: ["workspace"],
        summary: "The URLs providers post to for this workspace",
        description:
          "Set twilioInbound as the Twilio number's incoming-message webhook (HTTP POST) and emailFeedback as the email provider's bounce and complaint webhook (Amazon SES through SNS, SendGrid's Event Webhook, or the generic JSON format of docs/responses.md). The dispatcher registers twilioStatus with every SMS itself.",
        response: { 200: WorkspaceHooks, ...problemResponses(401) },
      },
    },
    async (request) => {
      const base = app.deps.config.publicUrl.replace(/\/+$/, "");
      return {
        twilioInbound: `${base}/hooks/twilio/inbound`,
        twilioStatus: `${base}/hooks/twilio/status`,
        emailFeedback: `${base}/hooks/email/${emailHookToken(app.deps.keys.links, request.workspace.id)}`,
      };
    },
  );

  app.get(
    "/workspace/delivery-policies",
    {
      schema: {
        tags: ["workspace"],
        summary: "Send-time policies per channel",
        description:
          "Quiet hours in each recipient's local time and frequency caps across all campaigns, decided when each message is about to go. Defaults: SMS 08:00–21:00; no caps.",
        response: { 200: DeliveryPolicies, ...problemResponses(401) },
      },
    },
    async (request) => getDeliveryPolicies(app.deps.database.db, request.workspace),
  );

  app.put(
    "/workspace/delivery-policies/:channel",
    {
      schema: {
        tags: ["workspace"],
        summary: "Set one channel's send-time policy",
        params: PolicyChannelParams,
        body: DeliveryPolicy,
        response: { 200: DeliveryPolicies, ...problemResponses(400, 401) },
      },
    },
    async (request) =>
      setDeliveryPolicy(app.deps.database.db, request.workspace, request.params.channel, request.body),
  );

  app.get(
    "/workspace/providers",
    {
      schema: {
        tags: ["workspace"],
        summary: "The workspace's own provider accounts",
        description:
          "Channels without one use the installation's provider (SMTP_URL, TWILIO_URL, else the dev inbox). Secrets are never returned: secretsSet names those stored.",
        response: { 200: ProviderList, ...problemResponses(401) },
      },
    },
    async (request) => {
      const config = app.deps.config;
      return {
        data: await listProviders(app.deps.database.db, request.workspace),
        defaults: {
          email: config.smtpUrl ? "smtp" : "dev-inbox",
          sms: config.twilioUrl ? "twilio" : "dev-inbox",
          mail: config.lobUrl ? "lob" : config.printBatchDir ? "print-batch" : "dev-inbox",
        },
      };
    },
  );

  app.put(
    "/workspace/providers/:channel",
    {
      schema: {
        tags: ["workspace"],
        summary: "Use the workspace's own provider account for a channel",
        description:
          "email: an SMTP server (with DKIM signing when settings.dkim and secrets.dkimPrivateKey are given); sms: a Twilio account; mail: a Lob account. Secrets are stored encrypted; secrets not given are kept, null removes one. Dispatchers pick a change up within 10 seconds.",
        params: ProviderChannelParams,
        body: ProviderInput,
        response: { 200: Provider, ...problemResponses(400, 401) },
      },
    },
    async (request) =>
      setProvider(
        app.deps.database.db,
        request.workspace,
        request.params.channel,
        request.body,
        app.deps.keys.credentials,
      ),
  );

  app.delete(
    "/workspace/providers/:channel",
    {
      schema: {
        tags: ["workspace"],
        summary: "Go back to the installation's provider for a channel",
        params: ProviderChannelParams,
        response: {
          200: Type.Object({ channel: Type.String(), deleted: Type.Literal(true) }),
          ...problemResponses(401, 404),
        },
      },
    },
    async (request) => {
      await removeProvider(app.deps.database.db, request.workspace, request.params.channel);
      return { channel: request.params.channel, deleted: true as const };
    },
  );
}
