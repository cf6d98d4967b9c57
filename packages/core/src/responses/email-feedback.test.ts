import { describe, expect, it } from "vitest";
import { TEST_KEYS } from "../security/keys.ts";
import { emailHookToken, parseEmailFeedback, readEmailHookToken } from "./email-feedback.ts";

const WORKSPACE = "0190f5a2-7c1e-7a3b-8f00-123456789abc";

describe("email hook token", () => {
  it("names its workspace and cannot be forged, altered or moved to another workspace", () => {
    const token = emailHookToken(TEST_KEYS.links, WORKSPACE);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readEmailHookToken(TEST_KEYS.links, token)).toBe(WORKSPACE);

    const other = "0190f5a2-7c1e-7a3b-8f00-123456789abd";
    const otherToken = emailHookToken(TEST_KEYS.links, other);
    // Another workspace's id with this workspace's tag, and the reverse.
    const spliced = Buffer.concat([
      Buffer.from(otherToken, "base64url").subarray(0, 16),
      Buffer.from(token, "base64url").subarray(16),
    ]).toString("base64url");
    expect(readEmailHookToken(TEST_KEYS.links, spliced)).toBeUndefined();
    const flipped = `${token.slice(0, 42)}${token[42] === "A" ? "B" : "A"}`;
    expect(readEmailHookToken(TEST_KEYS.links, flipped)).toBeUndefined();
    expect(readEmailHookToken(TEST_KEYS.links, token.slice(0, 40))).toBeUndefined();
    expect(readEmailHookToken(TEST_KEYS.credentials, token)).toBeUndefined();
  });
});

describe("parseEmailFeedback: the generic format", () => {
  it("reads bounces and complaints", () => {
    const parsed = parseEmailFeedback({
      events: [
        {
          type: "bounce",
          email: " Ada@Example.COM ",
          bounceType: "hard",
          messageId: "<abc@acme.example>",
          reason: "550 5.1.1 user unknown",
          occurredAt: "2026-03-02T10:00:00Z",
          id: "evt-1",
        },
        { type: "complaint", email: "bob@example.com" },
      ],
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        kind: "events",
        format: "generic",
        events: [
          {
            type: "bounce",
            email: "ada@example.com",
            bounceType: "hard",
            messageRef: "<abc@acme.example>",
            reason: "550 5.1.1 user unknown",
            occurredAt: new Date("2026-03-02T10:00:00Z"),
            eventId: "evt-1",
          },
          { type: "complaint", email: "bob@example.com" },
        ],
      },
    });
  });

  it("names every problem of a malformed batch and accepts none of it", () => {
    const parsed = parseEmailFeedback({
      events: [
        { type: "bounce", email: "ada@example.com" },
        { type: "open", email: "not-an-email" },
        { type: "complaint", email: "bob@example.com", occurredAt: "yesterday", colour: "red" },
        "bounce",
      ],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.field)).toEqual([
      "events[0].bounceType",
      "events[1].type",
      "events[1].email",
      "events[2].colour",
      "events[2].occurredAt",
      "events[3]",
    ]);
  });

  it("refuses bodies of no known format", () => {
    for (const body of [{}, { event: "bounce" }, "bounce", 42, null, { events: "all" }]) {
      expect(parseEmailFeedback(body).ok, JSON.stringify(body)).toBe(false);
    }
  });
});

/** An SES bounce notification as SNS delivers it (the shapes of the SES developer guide's examples). */
function snsNotification(message: unknown, messageId = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324") {
  return {
    Type: "Notification",
    MessageId: messageId,
    TopicArn: "arn:aws:sns:us-east-1:123456789012:ses-feedback",
    Message: JSON.stringify(message),
    Timestamp: "2026-03-02T10:00:01.000Z",
    SignatureVersion: "1",
    Signature: "EXAMPLE",
    SigningCertURL: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
    UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=EXAMPLE",
  };
}

const SES_MAIL = {
  timestamp: "2026-03-02T09:59:00.000Z",
  source: "news@acme.example",
  messageId: "0000014a-f4d4-4f89-93d5-EXAMPLE-000000",
  destination: ["gone@example.com"],
  headersTruncated: false,
  headers: [{ name: "Message-ID", value: "<abc@acme.example>" }],
  commonHeaders: { from: ["news@acme.example"], to: ["gone@example.com"], messageId: "<abc@acme.example>" },
};

describe("parseEmailFeedback: Amazon SES through SNS", () => {
  it("reads a permanent bounce as hard, with the Message-ID and the diagnostic", () => {
    const parsed = parseEmailFeedback(
      snsNotification({
        notificationType: "Bounce",
        bounce: {
          bounceType: "Permanent",
          bounceSubType: "General",
          bouncedRecipients: [
            {
              emailAddress: "Gone@Example.com",
              action: "failed",
              status: "5.1.1",
              diagnosticCode: "smtp; 550 5.1.1 user unknown",
            },
          ],
          timestamp: "2026-03-02T10:00:00.000Z",
          feedbackId: "0000013786031775-fea503bc-EXAMPLE-000000",
        },
        mail: SES_MAIL,
      }),
    );
    expect(parsed).toMatchObject({
      ok: true,
      value: {
        kind: "events",
        format: "ses",
        events: [
          {
            type: "bounce",
            email: "gone@example.com",
            bounceType: "hard",
            messageRef: "<abc@acme.example>",
            reason: "Permanent/General: smtp; 550 5.1.1 user unknown",
            occurredAt: new Date("2026-03-02T10:00:00.000Z"),
          },
        ],
      },
    });
  });

  it("reads transient bounces as soft, complaints and deliveries, and the raw (unwrapped) message", () => {
    const soft = parseEmailFeedback(
      snsNotification({
        notificationType: "Bounce",
        bounce: {
          bounceType: "Transient",
          bounceSubType: "MailboxFull",
          bouncedRecipients: [{ emailAddress: "full@example.com" }],
          timestamp: "2026-03-02T10:00:00.000Z",
        },
        mail: SES_MAIL,
      }),
    );
    expect(soft).toMatchObject({ ok: true, value: { events: [{ bounceType: "soft" }] } });
    const complaint = parseEmailFeedback({
      notificationType: "Complaint",
      complaint: {
        complainedRecipients: [{ emailAddress: "angry@example.com" }],
        timestamp: "2026-03-02T10:00:00.000Z",
        complaintFeedbackType: "abuse",
        feedbackId: "EXAMPLE",
      },
      mail: SES_MAIL,
    });
    expect(complaint).toMatchObject({
      ok: true,
      value: {
        format: "ses",
        events: [{ type: "complaint", email: "angry@example.com", reason: "complaint: abuse" }],
      },
    });
    const delivered = parseEmailFeedback(
      snsNotification({
        eventType: "Delivery",
        delivery: { timestamp: "2026-03-02T10:00:00.000Z", recipients: ["ada@example.com"] },
        mail: SES_MAIL,
      }),
    );
    expect(delivered).toMatchObject({
      ok: true,
      value: { events: [{ type: "delivered", email: "ada@example.com" }] },
    });
  });

  it("hands back a subscription confirmation's SubscribeURL, and ignores notifications that are not feedback", () => {
    expect(
      parseEmailFeedback({
        Type: "SubscriptionConfirmation",
        TopicArn: "arn:aws:sns:us-east-1:123456789012:ses-feedback",
        Message: "You have chosen to subscribe to the topic …",
        SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=EXAMPLE",
        Token: "EXAMPLE",
      }),
    ).toEqual({
      ok: true,
      value: {
        kind: "sns-subscription",
        topicArn: "arn:aws:sns:us-east-1:123456789012:ses-feedback",
        subscribeUrl: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=EXAMPLE",
      },
    });
    expect(parseEmailFeedback(snsNotification({ eventType: "Open", mail: SES_MAIL }))).toMatchObject({
      ok: true,
      value: { events: [] },
    });
  });

  it("refuses a notification whose Message is not SES JSON", () => {
    expect(parseEmailFeedback({ ...snsNotification({}), Message: "{oops" })).toMatchObject({
      ok: false,
      errors: [{ field: "Message" }],
    });
    expect(
      parseEmailFeedback(
        snsNotification({ notificationType: "Bounce", bounce: { bounceType: "Permanent" } }),
      ),
    ).toMatchObject({ ok: false, errors: [{ field: "Message.bounce.bouncedRecipients" }] });
  });
});

describe("parseEmailFeedback: SendGrid's Event Webhook", () => {
  it("reads bounces (blocked as soft), drops, spam reports and deliveries, and skips the other events", () => {
    const parsed = parseEmailFeedback([
      { email: "processed@example.com", timestamp: 1772445600, event: "processed", sg_event_id: "e0" },
      {
        email: "gone@example.com",
        timestamp: 1772445600,
        "smtp-id": "<abc@acme.example>",
        event: "bounce",
        type: "bounce",
        status: "5.1.1",
        reason: "550 5.1.1 user unknown",
        sg_event_id: "e1",
      },
      {
        email: "blocked@example.com",
        timestamp: 1772445600,
        event: "bounce",
        type: "blocked",
        sg_event_id: "e2",
      },
      {
        email: "dropped@example.com",
        timestamp: 1772445600,
        event: "dropped",
        reason: "Bounced Address",
        sg_event_id: "e3",
      },
      { email: "spam@example.com", timestamp: 1772445600, event: "spamreport", sg_event_id: "e4" },
      { email: "ok@example.com", timestamp: 1772445600, event: "delivered", sg_event_id: "e5" },
      {
        email: "click@example.com",
        timestamp: 1772445600,
        event: "click",
        url: "https://x",
        sg_event_id: "e6",
      },
    ]);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.value.kind !== "events") return;
    expect(parsed.value.format).toBe("sendgrid");
    expect(parsed.value.events.map((e) => [e.email, e.type, e.bounceType])).toEqual([
      ["gone@example.com", "bounce", "hard"],
      ["blocked@example.com", "bounce", "soft"],
      ["dropped@example.com", "bounce", "hard"],
      ["spam@example.com", "complaint", undefined],
      ["ok@example.com", "delivered", undefined],
    ]);
    expect(parsed.value.events[0]).toMatchObject({
      messageRef: "<abc@acme.example>",
      reason: "bounce: 5.1.1 550 5.1.1 user unknown",
      occurredAt: new Date(1772445600 * 1000),
      eventId: "sendgrid:e1",
    });
  });

  it("refuses an event without an address", () => {
    expect(parseEmailFeedback([{ event: "bounce", timestamp: 1 }])).toMatchObject({
      ok: false,
      errors: [{ field: "[0].email" }],
    });
  });
});
