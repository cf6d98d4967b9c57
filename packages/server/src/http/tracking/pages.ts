/**
 * The pages recipients see: small, self-contained HTML (no scripts, no external assets), every value
 * escaped. The headers that go with them are set in routes.ts.
 */
import type { PreferenceChannel, Preferences } from "@omneural/core/tracking/preferences.service";

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** Marks a string as already-escaped HTML. */
interface Html {
  html: string;
}
const raw = (html: string): Html => ({ html });

/** A tagged template that escapes every interpolated value unless it is `Html`. */
function html(strings: TemplateStringsArray, ...values: (string | number | Html | Html[])[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    if (Array.isArray(value)) out += value.map((v) => v.html).join("");
    else if (typeof value === "object") out += value.html;
    else out += escapeHtml(String(value));
    out += strings[i + 1]!;
  });
  return raw(out);
}

const STYLE = `
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1f2328}
main{max-width:32rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 1rem}
p{margin:0 0 1rem}
button{font:inherit;padding:.55rem 1.1rem;border:0;border-radius:6px;background:#1f6feb;color:#fff;cursor:pointer}
label{display:block;margin:.4rem 0}
.muted{color:#656d76;font-size:.9rem}
`;

function layout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`.html;
}

/** A link that leads nowhere, or no longer does: nothing about the token is echoed back. */
export function notFoundPage(): string {
  return layout(
    "Link not found",
    html`<h1>This link is not valid</h1>
<p>It may have been copied incompletely. Please use the link from the original message.</p>`,
  );
}

export function expiredPage(): string {
  return layout(
    "Link expired",
    html`<h1>This link has expired</h1>
<p>Please use the link in a more recent message.</p>`,
  );
}

export function unavailablePage(): string {
  return layout(
    "Try again later",
    html`<h1>We cannot answer right now</h1>
<p>Please try again in a few minutes.</p>`,
  );
}

export function badRequestPage(): string {
  return layout(
    "Not understood",
    html`<h1>This request was not understood</h1>
<p>Please use the link from the original message.</p>`,
  );
}

const CHANNEL_NOUN: Record<PreferenceChannel, string> = {
  email: "emails",
  sms: "text messages",
  mail: "letters and postcards",
};

function from(workspaceName: string | undefined): string {
  return workspaceName ? ` from ${workspaceName}` : "";
}

/**
 * GET /u/<token>: nothing happens until a button is pressed. A link from a campaign with a topic offers
 * leaving just that topic (`scope=topic`) besides the whole channel.
 */
export function unsubscribeConfirmPage(options: {
  workspaceName: string | undefined;
  channel: PreferenceChannel;
  preferencesHref: string;
  topic?: { name: string } | undefined;
}): string {
  const what = `${CHANNEL_NOUN[options.channel]}${from(options.workspaceName)}`;
  const topicForm = options.topic
    ? html`<form method="post">
<input type="hidden" name="confirm" value="unsubscribe">
<input type="hidden" name="scope" value="topic">
<button type="submit">Unsubscribe from ${options.topic.name} only</button>
</form>
<p class="muted">Or stop all ${CHANNEL_NOUN[options.channel]}:</p>
`
    : raw("");
  return layout(
    "Unsubscribe",
    html`<h1>Unsubscribe?</h1>
${
  options.topic
    ? html`<p>This message was about ${options.topic.name}.</p>
`
    : raw("")
}${topicForm}<p>You will no longer receive ${what}.</p>
<form method="post">
<input type="hidden" name="confirm" value="unsubscribe">
<button type="submit">${options.topic ? `Unsubscribe from all ${CHANNEL_NOUN[options.channel]}` : "Unsubscribe"}</button>
</form>
<p class="muted" style="margin-top:1.5rem"><a href="${options.preferencesHref}">Choose which messages you receive instead</a></p>`,
  );
}

export function unsubscribedPage(options: {
  workspaceName: string | undefined;
  channel: PreferenceChannel;
  preferencesHref: string;
}): string {
  const what = `${CHANNEL_NOUN[options.channel]}${from(options.workspaceName)}`;
  return layout(
    "Unsubscribed",
    html`<h1>You are unsubscribed</h1>
<p>You will no longer receive ${what}. It may take a little while for messages already on their way.</p>
<p class="muted"><a href="${options.preferencesHref}">Manage all your preferences</a></p>`,
  );
}

/** After "unsubscribe from <topic> only": the channel is untouched. */
export function topicUnsubscribedPage(options: {
  workspaceName: string | undefined;
  topic: { name: string };
  preferencesHref: string;
}): string {
  return layout(
    "Unsubscribed",
    html`<h1>You are unsubscribed from ${options.topic.name}</h1>
<p>You will no longer receive ${options.topic.name}${from(options.workspaceName)}. Other messages keep coming.</p>
<p class="muted"><a href="${options.preferencesHref}">Manage all your preferences</a></p>`,
  );
}

export function preferencesPage(preferences: Preferences, saved: boolean): string {
  const boxes = (Object.keys(CHANNEL_NOUN) as PreferenceChannel[]).map((channel) => {
    const checked = preferences.channels[channel].receiving ? raw(" checked") : raw("");
    const noun = CHANNEL_NOUN[channel];
    return html`<label><input type="checkbox" name="${channel}" value="on"${checked}> ${noun[0]!.toUpperCase()}${noun.slice(1)}</label>
`;
  });
  // The topics shown are named in a hidden field, so that a topic made after the page was shown is not
  // taken for one whose box was left unticked.
  const topics = preferences.topics.length
    ? html`<h2 style="font-size:1.1rem;margin:1.25rem 0 .5rem">Topics</h2>
<input type="hidden" name="topics" value="${preferences.topics.map((t) => t.id).join(",")}">
${preferences.topics.map((topic) => {
  const checked = topic.receiving ? raw(" checked") : raw("");
  const description = topic.description ? html`<br><span class="muted">${topic.description}</span>` : raw("");
  return html`<label><input type="checkbox" name="topic:${topic.id}" value="on"${checked}> ${topic.name}${description}</label>
`;
})}`
    : raw("");
  return layout(
    "Your preferences",
    html`<h1>What would you like to receive${from(preferences.workspaceName)}?</h1>
${saved ? html`<p role="status"><strong>Your preferences are saved.</strong></p>` : raw("")}
<form method="post">
<input type="hidden" name="save" value="preferences">
${boxes}${topics}
<p style="margin-top:1rem"><button type="submit">Save</button></p>
</form>`,
  );
}

export function purlLandingPage(workspaceName: string): string {
  return layout(
    workspaceName,
    html`<h1>Welcome</h1>
<p>Thank you for visiting. ${workspaceName} is glad you are here, and will be in touch.</p>`,
  );
}
