/** /api/v1/team: the workspace's members and invitations. Changes need an owner or admin (or an API key). */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  CreatedInvitation,
  InvitationInput,
  InvitationParams,
  MemberParams,
  MemberRoleInput,
  Team,
  TeamMember,
} from "@omneural/contracts/users";
import {
  changeMemberRole,
  getTeam,
  inviteMember,
  removeMember,
  revokeInvitation,
} from "@omneural/core/users/team.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

const tags = ["team"];

export async function teamRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.deps.database.db;

  app.get(
    "/team",
    {
      schema: {
        tags,
        summary: "The workspace's members and pending invitations",
        response: { 200: Team, ...problemResponses(401) },
      },
    },
    async (request) => getTeam(db, request.workspace.id),
  );

  app.post(
    "/team/invitations",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Invite someone by email, with a role",
        description:
          "Answers the invitation link once (it is not stored: only its hash is); send it to the invitee. It works for 7 days. A pending invitation to the same email is replaced. Only owners invite owners.",
        body: InvitationInput,
        response: { 201: CreatedInvitation, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const created = await inviteMember(
        db,
        request.workspace.id,
        request.actor,
        request.body,
        app.deps.config.publicUrl,
      );
      request.log.info({ invitationId: created.id, role: created.role }, "invitation created");
      return reply.code(201).send(created);
    },
  );

  app.delete(
    "/team/invitations/:id",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Revoke a pending invitation",
        params: InvitationParams,
        response: {
          200: Type.Object({ id: Type.String(), deleted: Type.Literal(true) }),
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      await revokeInvitation(db, request.workspace.id, request.actor, request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.patch(
    "/team/members/:userId",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Change a member's role",
        description:
          "Only owners make owners or change an owner's role; the last owner stays an owner (409).",
        params: MemberParams,
        body: MemberRoleInput,
        response: { 200: TeamMember, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      await changeMemberRole(
        db,
        request.workspace.id,
        request.actor,
        request.params.userId,
        request.body.role,
      );
      const team = await getTeam(db, request.workspace.id);
      return team.members.find((member) => member.userId === request.params.userId)!;
    },
  );

  app.delete(
    "/team/members/:userId",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Remove a member from the workspace",
        description: "Only owners remove owners; the last owner cannot be removed (409).",
        params: MemberParams,
        response: {
          200: Type.Object({ userId: Type.String(), deleted: Type.Literal(true) }),
          ...problemResponses(401, 403, 404, 409),
        },
      },
    },
    async (request) => {
      await removeMember(db, request.workspace.id, request.actor, request.params.userId);
      return { userId: request.params.userId, deleted: true as const };
    },
  );
}
