/**
 * A workspace's own SMTP account: its credentials are stored sealed, its mail goes through its server
 * with its login, signed with its DKIM key (verified here as a receiving server would), while another
 * workspace keeps the installation's provider.
 */
import { generateKeyPairSync } from "node:crypto";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { LOB_TEST_KEY, startLobServer } from "../testing/lob-server.ts";
import { ADDRESS, mailTemplate, mailWorkspace, queueMail } from "../testing/mail.ts";
import { useTestSmtpServer } from "../testing/smtp-server.ts";
import { createDevInboxEmailChannel, createDevInboxMailChannel } from "./dev-inbox.ts";
import { dispatchBatch } from "./dispatcher.ts";
import { ChannelResolver, listProviders, removeProvider, setProvider } from "./provider.service.ts";
import { setSender } from "./sender.service.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const PUBLIC_DER = publicKey.export({ type: "spki", format: "der" }).toString("base64");

const mailbox = useTestSmtpServer({ auth: { user: "acme", pass: "s3cret-smtp-password" } });
let acme: WorkspaceContext;
let globex: WorkspaceContext;

beforeAll(async () => {
  const db = database.handle.db;
  acme = await newWorkspaceContext(db, "Acme");
  globex = await newWorkspaceContext(db, "Globex");
  for (const ws of [acme, globex]) {
    await setSender(db, ws, {
      fromAddress: `news@${ws.id.slice(0, 8)}.example`,
      postalAddress: "1 High Street",
    });
  }
});

async function queueOne(ws: WorkspaceContext, email: string) {
  const db = database.handle.db;
  const templateId = (
    await createTemplate(db, ws, {
      name: "t",
      channel: "email",
      content: { subject: "Signed", html: "<p>Hi</p>" },
    })
  ).id;
  const listId = crypto.randomUUID();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, 'l', 'list')`.execute(
    db,
  );
  const id = crypto.randomUUID();
  await sql`insert into contacts (workspace_id, id, email, email_consent) values (${ws.id}, ${id}, ${email}, 'subscribed')`.execute(
    db,
  );
  await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${id})`.execute(
    db,
  );
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "s" } },
      { id: "s", type: "send", channel: "email", templateId, outlets: { next: "x" } },
      { id: "x", type: "exit", outlets: {} },
    ],
  };
  const campaign = await launchGraph(db, ws, listId, graph, T0);
  await drain(db, ws.id, campaign.id, { now: T0 });
}

describe("a workspace's own SMTP provider", () => {
  it("refuses incomplete settings, with the field and reason", async () => {
    const db = database.handle.db;
    await expect(
      setProvider(
        db,
        acme,
        "email",
        { provider: "smtp", settings: { host: "h", port: 25, user: "u" } },
        TEST_KEYS.credentials,
      ),
    ).rejects.toMatchObject({ extra: { errors: [{ field: "secrets.password" }] } });
    await expect(
      setProvider(
        db,
        acme,
        "email",
        {
          provider: "smtp",
          settings: { host: "h", port: 25, dkim: { domainName: "acme.example", keySelector: "s1" } },
          secrets: {
            dkimPrivateKey: `-----BEGIN PRIVATE KEY-----\n${"A".repeat(120)}\n-----END PRIVATE KEY-----`,
          },
        },
        TEST_KEYS.credentials,
      ),
    ).rejects.toMatchObject({
      extra: { errors: [{ field: "secrets.dkimPrivateKey", message: "is not a PEM private key" }] },
    });
    await expect(
      setProvider(
        db,
        acme,
        "sms",
        { provider: "smtp", settings: { host: "h", port: 25 } },
        TEST_KEYS.credentials,
      ),
    ).rejects.toMatchObject({ extra: { errors: [{ field: "provider" }] } });
  });

  it("stores secrets sealed, lists only their names, and keeps them across a settings change", async () => {
    const db = database.handle.db;
    await setProvider(
      db,
      acme,
      "email",
      {
        provider: "smtp",
        settings: {
          host: "127.0.0.1",
          port: 1,
          user: "acme",
          dkim: { domainName: "acme.example", keySelector: "s1" },
        },
        secrets: { password: "s3cret-smtp-password", dkimPrivateKey: PRIVATE_PEM },
      },
      TEST_KEYS.credentials,
    );
    // A settings change without secrets keeps them.
    const changed = await setProvider(
      db,
      acme,
      "email",
      {
        provider: "smtp",
        settings: {
          host: "127.0.0.1",
          port: mailbox.server.port,
          user: "acme",
          dkim: { domainName: "acme.example", keySelector: "s1" },
        },
      },
      TEST_KEYS.credentials,
    );
    expect(changed.secretsSet).toEqual(["dkimPrivateKey", "password"]);
    expect(JSON.stringify(await listProviders(db, acme))).not.toContain("s3cret");
    const stored = await sql<{
      secrets: Buffer;
    }>`select secrets from workspace_providers where workspace_id = ${acme.id}`.execute(db);
    expect(stored.rows[0]!.secrets.includes(Buffer.from("s3cret"))).toBe(false);
    expect(stored.rows[0]!.secrets.includes(Buffer.from("PRIVATE KEY"))).toBe(false);
    expect(await listProviders(db, globex)).toEqual([]);
  });

  it("sends through it, logged in and DKIM-signed; the other workspace keeps the installation's provider", async () => {
    const db = database.handle.db;
    await queueOne(acme, "ada@example.com");
    await queueOne(globex, "bea@example.com");
    const installation = { email: createDevInboxEmailChannel(db) };
    const resolver = new ChannelResolver(db, installation, {
      credentialsKey: TEST_KEYS.credentials,
      publicUrl: TEST_LINKS.publicUrl,
    });
    try {
      const r = await dispatchBatch(db, "email", {
        links: TEST_LINKS,
        channels: installation,
        resolver,
        now: new Date(T0.getTime() + 60_000),
      });
      expect(r).toMatchObject({ sent: 2 });
    } finally {
      await resolver.close();
    }
    expect(mailbox.server.raws).toHaveLength(1);
    expect(mailbox.server.raws[0]!.user).toBe("acme");
    const verified = await dkimVerify(mailbox.server.raws[0]!.raw, {
      resolver: async (name: string, type: string) => {
        expect([name, type]).toEqual(["s1._domainkey.acme.example", "TXT"]);
        return [[`v=DKIM1; k=rsa; p=${PUBLIC_DER}`]];
      },
    });
    expect(verified.results[0]).toMatchObject({ signingDomain: "acme.example", selector: "s1" });
    expect(verified.results[0]!.status.result).toBe("pass");
    const providers = await sql<{ workspace_id: string; provider: string }>`
      select workspace_id, provider from messages where status = 'sent' order by provider`.execute(db);
    expect(providers.rows).toEqual([
      { workspace_id: globex.id, provider: "dev-inbox" },
      { workspace_id: acme.id, provider: "smtp" },
    ]);
  });

  it("goes back to the installation's provider when removed", async () => {
    const db = database.handle.db;
    await removeProvider(db, acme, "email");
    expect(await listProviders(db, acme)).toEqual([]);
    await expect(removeProvider(db, acme, "email")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("a workspace's own Lob account", () => {
  it("sends its letters through it with its key; the installation's mail provider serves the others", async () => {
    const db = database.handle.db;
    const lob = await startLobServer();
    const resolver = new ChannelResolver(
      db,
      { email: createDevInboxEmailChannel(db), mail: createDevInboxMailChannel(db) },
      {
        credentialsKey: TEST_KEYS.credentials,
        publicUrl: TEST_LINKS.publicUrl,
      },
    );
    try {
      const own = await mailWorkspace(db);
      const other = await mailWorkspace(db);
      await expect(
        setProvider(
          db,
          own,
          "mail",
          { provider: "lob", settings: { baseUrl: lob.baseUrl } },
          TEST_KEYS.credentials,
        ),
      ).rejects.toMatchObject({ extra: { errors: [{ field: "secrets.apiKey" }] } });
      const saved = await setProvider(
        db,
        own,
        "mail",
        { provider: "lob", settings: { baseUrl: lob.baseUrl }, secrets: { apiKey: LOB_TEST_KEY } },
        TEST_KEYS.credentials,
      );
      expect(saved).toMatchObject({ channel: "mail", provider: "lob", secretsSet: ["apiKey"] });
      for (const ws of [own, other]) {
        const templateId = await mailTemplate(db, ws, "letter");
        await queueMail(db, ws, templateId, [{ firstName: "Ada", ...ADDRESS }], T0);
      }
      const installation = { email: createDevInboxEmailChannel(db), mail: createDevInboxMailChannel(db) };
      const r = await dispatchBatch(db, "mail", {
        links: TEST_LINKS,
        channels: installation,
        resolver,
        now: new Date(T0.getTime() + 60_000),
      });
      expect(r).toMatchObject({ sent: 2 });
      expect(lob.received).toHaveLength(1);
      expect(lob.received[0]!.headers.authorization).toBe(
        `Basic ${Buffer.from(`${LOB_TEST_KEY}:`).toString("base64")}`,
      );
      const providers = await sql<{ workspace_id: string; provider: string }>`
        select workspace_id, provider from messages where channel = 'mail' and status = 'sent'`.execute(db);
      expect(Object.fromEntries(providers.rows.map((p) => [p.workspace_id, p.provider]))).toEqual({
        [own.id]: "lob",
        [other.id]: "dev-inbox",
      });
    } finally {
      await resolver.close();
      await lob.close();
    }
  });
});
