/** Settings → Team: members and their roles, pending invitations, and inviting someone. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, type Role, type TeamMember } from "../api.ts";
import { CopyField } from "../components/CopyField.tsx";
import { errorsFrom, Field, type FieldErrors, SelectField } from "../components/Field.tsx";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, ROLE_HELP, ROLE_LABELS, useSession } from "../session.ts";
import { validateEmail } from "./Setup.tsx";

const ROLES: Role[] = ["owner", "admin", "marketer", "viewer"];

export default function TeamSettings() {
  const session = useSession();
  const admin = can(session.role, "admin");
  const team = useQuery({ queryKey: ["team"], queryFn: api.team });

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>Team</h1>
          <p className="muted">Who can sign in to {session.workspace.name}, and what each may do.</p>
        </div>
      </header>
      {admin ? (
        <InviteForm />
      ) : (
        <p className="muted">Only owners and admins can invite people or change roles.</p>
      )}
      {team.isPending ? <Loading label="Loading the team" /> : null}
      {team.error ? <PageError error={team.error} /> : null}
      {team.data ? (
        <>
          <section aria-labelledby="members-heading">
            <h2 id="members-heading">Members</h2>
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {team.data.members.map((member) => (
                    <MemberRow key={member.userId} member={member} />
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section aria-labelledby="invitations-heading">
            <h2 id="invitations-heading">Pending invitations</h2>
            {team.data.invitations.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <ul className="list">
                {team.data.invitations.map((invitation) => (
                  <PendingInvitation key={invitation.id} {...invitation} />
                ))}
              </ul>
            )}
          </section>
        </>
      ) : null}
    </div>
  );
}

const INVITE_FIELDS = ["email", "role"] as const;

function InviteForm() {
  const session = useSession();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("marketer");
  const [errors, setErrors] = useState<FieldErrors<(typeof INVITE_FIELDS)[number]>>({});
  const [link, setLink] = useState<{ email: string; url: string }>();
  const invite = useMutation({
    mutationFn: () => api.invite(email.trim(), role),
    onSuccess: (created) => {
      setLink({ email: created.email, url: created.link });
      setEmail("");
      queryClient.invalidateQueries({ queryKey: ["team"] });
    },
    onError: (error) => setErrors(errorsFrom(error, INVITE_FIELDS)),
  });
  const roles = ROLES.filter((r) => r !== "owner" || session.role === "owner");

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = { email: validateEmail(email) };
    setErrors(found);
    if (!found.email) invite.mutate();
  }

  return (
    <section className="card" aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite someone</h2>
      <form onSubmit={submit} noValidate className="invite-form">
        <Field
          label="Email address"
          type="email"
          value={email}
          onChange={setEmail}
          error={errors.email}
          autoComplete="off"
        />
        <SelectField
          label="Role"
          value={role}
          onChange={(value) => setRole(value as Role)}
          error={errors.role}
          options={roles.map((r) => ({ value: r, label: `${ROLE_LABELS[r]} — ${ROLE_HELP[r]}` }))}
        />
        <button type="submit" className="button primary" disabled={invite.isPending}>
          {invite.isPending ? "Inviting…" : "Create invitation link"}
        </button>
      </form>
      {errors.form ? <Alert>{errors.form}</Alert> : null}
      {link ? (
        <div className="invite-link" role="status">
          <p>
            Send this link to <strong>{link.email}</strong>. It works once, for 7 days, and is shown only now.
          </p>
          <CopyField label="Invitation link" value={link.url} hideLabel button="Copy link" />
        </div>
      ) : null}
    </section>
  );
}

function MemberRow({ member }: { member: TeamMember }) {
  const session = useSession();
  const queryClient = useQueryClient();
  const admin = can(session.role, "admin");
  const mayTouch = admin && (session.role === "owner" || member.role !== "owner");
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["team"] });
  const change = useMutation({
    mutationFn: (role: Role) => api.changeRole(member.userId, role),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: () => api.removeMember(member.userId), onSuccess: refresh });
  const [confirming, setConfirming] = useState(false);
  const roles = ROLES.filter((r) => r !== "owner" || session.role === "owner" || member.role === "owner");
  const me = member.userId === session.user.id;
  const error = change.error ?? remove.error;
  return (
    <tr>
      <th scope="row">
        {member.name}
        {me ? <span className="muted"> (you)</span> : null}
      </th>
      <td>{member.email}</td>
      <td>
        {mayTouch ? (
          <label>
            <span className="visually-hidden">Role of {member.name}</span>
            <select
              value={member.role}
              disabled={change.isPending}
              onChange={(event) => change.mutate(event.target.value as Role)}
            >
              {roles.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          </label>
        ) : (
          ROLE_LABELS[member.role]
        )}
        {error ? <Alert>{messageOf(error)}</Alert> : null}
      </td>
      <td className="actions">
        {mayTouch ? (
          confirming ? (
            <span className="confirm">
              <button
                type="button"
                className="button danger small"
                onClick={() => remove.mutate()}
                disabled={remove.isPending}
              >
                Remove {member.name}
              </button>
              <button type="button" className="button secondary small" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button
              type="button"
              className="button secondary small"
              aria-label={`Remove ${member.name} from the workspace`}
              onClick={() => setConfirming(true)}
            >
              Remove
            </button>
          )
        ) : null}
      </td>
    </tr>
  );
}

function PendingInvitation(invitation: {
  id: string;
  email: string;
  role: Role;
  expiresAt: string;
  invitedBy: string | null;
}) {
  const session = useSession();
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api.revokeInvitation(invitation.id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["team"] }),
  });
  return (
    <li className="list-item">
      <div>
        <strong>{invitation.email}</strong> as {ROLE_LABELS[invitation.role]}
        <br />
        <span className="muted small">
          {invitation.invitedBy ? `Invited by ${invitation.invitedBy}, ` : ""}expires{" "}
          {new Date(invitation.expiresAt).toLocaleDateString()}
        </span>
      </div>
      {can(session.role, "admin") ? (
        <button
          type="button"
          className="button secondary small"
          aria-label={`Revoke the invitation of ${invitation.email}`}
          onClick={() => revoke.mutate()}
          disabled={revoke.isPending}
        >
          Revoke
        </button>
      ) : null}
    </li>
  );
}
