/**
 * The buttons that move a campaign through its life: launch, pause, resume, retry failed members and
 * cancel (confirmed first, as it cannot be undone). Only the ones that make sense for the status show,
 * and only to roles that may change things; viewers get a note instead.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { can, useSession } from "../../session.ts";
import { Alert, messageOf } from "../feedback.tsx";
import { type CampaignAction, type CampaignWithCounts, campaignApi, takeNotice } from "./campaignApi.ts";

const DONE: Record<CampaignAction, (changed: number) => string> = {
  launch: (n) => `Launched: ${n.toLocaleString()} member${n === 1 ? "" : "s"} enrolled.`,
  pause: () => "Paused: no member moves until you resume.",
  resume: () => "Resumed: members continue where they were.",
  cancel: (n) => `Cancelled: ${n.toLocaleString()} member${n === 1 ? "" : "s"} left the campaign.`,
  retry: (n) => `${n.toLocaleString()} failed member${n === 1 ? "" : "s"} will be tried again.`,
};

export function CampaignActions({ campaign }: { campaign: CampaignWithCounts }) {
  const session = useSession();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string>();
  const [notice] = useState(() => takeNotice(campaign.id));
  const act = useMutation({
    mutationFn: (action: CampaignAction) => campaignApi.act(campaign.id, action),
    onMutate: () => setDone(undefined),
    onSuccess: (result, action) => {
      setConfirming(false);
      setDone(
        action === "launch" && result.campaign.status === "scheduled"
          ? `Scheduled: it starts ${new Date(result.campaign.startAt ?? "").toLocaleString()}.`
          : DONE[action](result.changed),
      );
      queryClient.invalidateQueries({ queryKey: ["campaign", campaign.id] });
      queryClient.invalidateQueries({ queryKey: ["campaigns"] });
    },
  });

  if (!can(session.role, "write")) {
    return (
      <p className="notice">
        You can look at this campaign but not change it: your role is Viewer. Ask a marketer or an admin to
        launch, pause or cancel it.
      </p>
    );
  }

  const { status } = campaign;
  const failed = campaign.counts.byState.failed ?? 0;
  const busy = act.isPending;
  const running = act.isPending ? act.variables : undefined;
  const button = (action: CampaignAction, label: string, tone = "secondary") => (
    <button
      type="button"
      className={`button ${tone}`}
      disabled={busy}
      aria-busy={running === action}
      onClick={() => act.mutate(action)}
    >
      {running === action ? `${label}…` : label}
    </button>
  );
  const canCancel =
    status === "draft" || status === "scheduled" || status === "running" || status === "paused";
  return (
    <section className="campaign-actions" aria-label="Campaign actions">
      <div className="button-row">
        {status === "draft" ? button("launch", "Launch", "primary") : null}
        {status === "running" ? button("pause", "Pause") : null}
        {status === "paused" ? button("resume", "Resume", "primary") : null}
        {(status === "running" || status === "paused") && failed > 0
          ? button("retry", `Retry ${failed.toLocaleString()} failed`)
          : null}
        {canCancel && !confirming ? (
          <button
            type="button"
            className="button secondary"
            disabled={busy}
            onClick={() => setConfirming(true)}
          >
            Cancel campaign
          </button>
        ) : null}
      </div>
      {confirming ? (
        <fieldset className="confirm-panel" aria-labelledby="cancel-question">
          <p id="cancel-question">
            <strong>Cancel “{campaign.name}”?</strong> Everyone still in it leaves and messages not yet sent
            are dropped. This cannot be undone.
          </p>
          <div className="button-row">
            {button("cancel", "Yes, cancel the campaign", "danger")}
            <button
              type="button"
              className="button secondary"
              disabled={busy}
              onClick={() => setConfirming(false)}
            >
              Keep it
            </button>
          </div>
        </fieldset>
      ) : null}
      {status === "draft" ? (
        <p className="muted small">
          Launching enrolls the audience’s members now
          {campaign.startAt ? `; it waits until ${new Date(campaign.startAt).toLocaleString()} to start` : ""}
          .
        </p>
      ) : null}
      {notice && !act.isSuccess ? <Alert>{notice}</Alert> : null}
      {act.error ? <Alert>{messageOf(act.error)}</Alert> : null}
      {done ? <Alert tone="success">{done}</Alert> : null}
    </section>
  );
}
