/**
 * Campaigns as code: a file (YAML or JSON) that declares a workspace's templates, audiences, workflows
 * and campaigns. Everything is named, and references are by name: a send node names its template
 * (`template: "Welcome"`), a condition names audiences and lists, a campaign names its audience,
 * workflow and topic. `omneural apply` resolves the names to ids; `omneural export` writes a workspace back in this
 * format. docs/campaigns-as-code.md has a worked example.
 */
import Type, { type Static } from "typebox";
import { AudienceKind, Channel } from "./audiences.ts";
import { Nullable } from "./common.ts";
import { CampaignCreate, NODE_TYPES, NodeId } from "./workflows.ts";

const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "Unique per kind within the workspace, compared case-insensitively",
});

export const TemplateDefinition = Type.Object(
  {
    name: Name,
    channel: Channel,
    content: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          "As in the templates API — email: {subject, preheader?, mjml | html, text?, defaults?}; sms: {body, defaults?}; mail: {layout, body, defaults?}; ads: {} (see docs/templates.md)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type TemplateDefinition = Static<typeof TemplateDefinition>;

export const AudienceDefinition = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    kind: Type.Optional(AudienceKind),
    definition: Type.Optional(
      Type.Unknown({
        description:
          'A segment\'s rule tree, as in the audiences API (docs/audiences.md), except that other audiences and lists are named: {kind: "audience", audience: "<name>"}, {kind: "list", list: "<name>"}. A list (kind: list) has none; its members are not part of the file.',
      }),
    ),
    listened: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type AudienceDefinition = Static<typeof AudienceDefinition>;

const DefinitionNode = Type.Object(
  { id: NodeId, type: Type.Union(NODE_TYPES.map((t) => Type.Literal(t))) },
  {
    additionalProperties: true,
    description:
      'A node as in the workflows API (docs/workflows.md), except that names replace ids: a send node has template: "<name>" instead of templateId, an ads send names its destination, conditions name audiences and lists as audiences do, an update node names the lists of addToLists and removeFromLists.',
  },
);

export const WorkflowDefinition = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    graph: Type.Object(
      { nodes: Type.Array(DefinitionNode, { maxItems: 500 }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type WorkflowDefinition = Static<typeof WorkflowDefinition>;

export const CampaignDefinition = Type.Object(
  {
    name: Name,
    audience: Type.String({ minLength: 1, description: "The name of an audience" }),
    workflow: Type.String({
      minLength: 1,
      description: "The name of a workflow; a new campaign runs its latest published version",
    }),
    topic: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          description:
            "The name of the subscription topic the campaign belongs to (default: none). Contacts who opted out of it are skipped at send time. Topics are made in the API or the app, not in the file.",
        }),
      ),
    ),
    // The settings of the campaigns API, as they are there. A setting the file leaves out is left as it
    // is on an existing campaign (a new one gets the default).
    startAt: CampaignCreate.properties.startAt,
    startLocal: CampaignCreate.properties.startLocal,
    endAt: CampaignCreate.properties.endAt,
    entry: CampaignCreate.properties.entry,
    reentry: CampaignCreate.properties.reentry,
    policies: CampaignCreate.properties.policies,
    holdoutPercent: CampaignCreate.properties.holdoutPercent,
    goal: CampaignCreate.properties.goal,
    launch: Type.Optional(
      Type.Boolean({
        description: "Launch the campaign if it is still a draft (default false). Apply never pauses one.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CampaignDefinition = Static<typeof CampaignDefinition>;

export const DefinitionsFile = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: "Where editors find this schema; ignored" })),
    templates: Type.Optional(Type.Array(TemplateDefinition)),
    audiences: Type.Optional(Type.Array(AudienceDefinition)),
    workflows: Type.Optional(Type.Array(WorkflowDefinition)),
    campaigns: Type.Optional(Type.Array(CampaignDefinition)),
  },
  {
    additionalProperties: false,
    title: "Omneural definitions",
    description:
      "A workspace's templates, audiences, workflows and campaigns, referring to each other by name (omneural apply / omneural export).",
  },
);
export type DefinitionsFile = Static<typeof DefinitionsFile>;

/** The published JSON Schema of the format (`omneural schema`). */
export function definitionsJsonSchema(): Record<string, unknown> {
  return { $schema: "https://json-schema.org/draft/2020-12/schema", ...structuredClone(DefinitionsFile) };
}
