/** People who sign in to the web app: first-run setup, sessions, the team and its invitations. */
import Type, { type Static } from "typebox";
import { Uuid } from "./common.ts";

export const ROLES = ["owner", "admin", "marketer", "viewer"] as const;

export const Role = Type.Union(
  [Type.Literal("owner"), Type.Literal("admin"), Type.Literal("marketer"), Type.Literal("viewer")],
  {
    description:
      "owner and admin manage the team and admin-only settings; marketer changes everything else; viewer only reads (docs/users-and-roles.md)",
  },
);
export type Role = Static<typeof Role>;

const Email = Type.String({ format: "email", minLength: 3, maxLength: 320 });
const PersonName = Type.String({ minLength: 1, maxLength: 200 });
export const PASSWORD_MIN_LENGTH = 10;
const Password = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: 200,
  description: `At least ${PASSWORD_MIN_LENGTH} characters`,
});

export const SetupStatus = Type.Object({
  needsSetup: Type.Boolean({ description: "True until the first user exists" }),
});
export type SetupStatus = Static<typeof SetupStatus>;

export const SetupInput = Type.Object(
  {
    name: PersonName,
    email: Email,
    password: Password,
    workspaceName: Type.String({ minLength: 1, maxLength: 200 }),
    defaultCountry: Type.Optional(Type.String({ description: "ISO 3166 country code; default US" })),
    defaultTimezone: Type.Optional(Type.String({ description: "IANA timezone; default UTC" })),
  },
  { additionalProperties: false },
);
export type SetupInput = Static<typeof SetupInput>;

export const SignInInput = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type SignInInput = Static<typeof SignInInput>;

export const SessionUser = Type.Object({ id: Uuid, name: Type.String(), email: Type.String() });
export type SessionUser = Static<typeof SessionUser>;

export const Membership = Type.Object({ id: Uuid, name: Type.String(), role: Role });
export type Membership = Static<typeof Membership>;

/** The signed-in user, the workspace they act in, and the token unsafe requests must echo. */
export const SessionInfo = Type.Object({
  user: SessionUser,
  workspace: Type.Object({ id: Uuid, name: Type.String() }),
  role: Role,
  workspaces: Type.Array(Membership),
  csrfToken: Type.String({
    description: "Send it as the x-csrf-token header with POST, PUT, PATCH and DELETE",
  }),
});
export type SessionInfo = Static<typeof SessionInfo>;

export const SwitchWorkspaceInput = Type.Object({ workspaceId: Uuid }, { additionalProperties: false });
export type SwitchWorkspaceInput = Static<typeof SwitchWorkspaceInput>;

export const TeamMember = Type.Object({
  userId: Uuid,
  name: Type.String(),
  email: Type.String(),
  role: Role,
  joinedAt: Type.String({ format: "date-time" }),
});
export type TeamMember = Static<typeof TeamMember>;

export const Invitation = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Role,
  invitedBy: Type.Union([Type.String(), Type.Null()], { description: "The inviting user's name" }),
  createdAt: Type.String({ format: "date-time" }),
  expiresAt: Type.String({ format: "date-time" }),
});
export type Invitation = Static<typeof Invitation>;

export const Team = Type.Object({ members: Type.Array(TeamMember), invitations: Type.Array(Invitation) });
export type Team = Static<typeof Team>;

export const InvitationInput = Type.Object({ email: Email, role: Role }, { additionalProperties: false });
export type InvitationInput = Static<typeof InvitationInput>;

export const CreatedInvitation = Type.Intersect([
  Invitation,
  Type.Object({
    link: Type.String({ description: "The link to send to the invitee; shown once, never again" }),
  }),
]);
export type CreatedInvitation = Static<typeof CreatedInvitation>;

export const MemberRoleInput = Type.Object({ role: Role }, { additionalProperties: false });
export type MemberRoleInput = Static<typeof MemberRoleInput>;

export const MemberParams = Type.Object({ userId: Uuid });
export const InvitationParams = Type.Object({ id: Uuid });
export const InvitationTokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });

/** What the invitation link's page shows before the invitee accepts. */
export const InvitationPreview = Type.Object({
  workspaceName: Type.String(),
  email: Type.String(),
  role: Role,
  existingUser: Type.Boolean({
    description: "The email already has an account: accepting asks for its password, not a new one",
  }),
  expiresAt: Type.String({ format: "date-time" }),
});
export type InvitationPreview = Static<typeof InvitationPreview>;

export const AcceptInvitationInput = Type.Object(
  {
    name: Type.Optional(PersonName),
    password: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type AcceptInvitationInput = Static<typeof AcceptInvitationInput>;
