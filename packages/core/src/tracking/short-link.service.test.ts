import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { insertShortLinks } from "../delivery/dispatch.repository.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { uuidv7 } from "../shared/ids.ts";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createShortLinkResolver } from "./short-link.service.ts";
import { shortLinkCode } from "./tokens.ts";

const database = useTestDatabase();

async function links(count: number) {
  const db = database.handle.db;
  const ws = await newWorkspaceContext(db);
  const messageId = uuidv7();
  const made = Array.from({ length: count }, (_, i) => {
    const url = `https://shop.example/${i}`;
    return { code: shortLinkCode(TEST_KEYS.links, messageId, url), url };
  });
  await insertShortLinks(db, ws.id, messageId, made);
  return { workspaceId: ws.id, messageId, made };
}

const removeAll = (codes: string[]) =>
  sql`delete from short_links where code = any(${codes})`.execute(database.handle.db);

describe("createShortLinkResolver", () => {
  it("answers a known code from the database once, then from memory", async () => {
    const { workspaceId, messageId, made } = await links(1);
    const resolver = createShortLinkResolver(database.handle.db);
    const expected = { workspaceId, messageId, url: made[0]!.url };
    expect(await resolver.resolve(made[0]!.code)).toEqual(expected);
    await removeAll([made[0]!.code]);
    expect(await resolver.resolve(made[0]!.code)).toEqual(expected);
  });

  it("keeps the most recently used codes, up to maxEntries", async () => {
    const { made } = await links(3);
    const [a, b, c] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    const resolver = createShortLinkResolver(database.handle.db, { maxEntries: 2 });
    await resolver.resolve(a.code);
    await resolver.resolve(b.code);
    await resolver.resolve(a.code); // a is now the most recent: b goes first
    await resolver.resolve(c.code);
    expect(resolver.size).toBe(2);
    await removeAll(made.map((m) => m.code));
    expect((await resolver.resolve(a.code))?.url).toBe(a.url);
    expect((await resolver.resolve(c.code))?.url).toBe(c.url);
    expect(await resolver.resolve(b.code)).toBeUndefined();
  });

  it("does not look up malformed codes, and does not remember unknown ones", async () => {
    const resolver = createShortLinkResolver(database.handle.db);
    expect(await resolver.resolve("short")).toBeUndefined();
    expect(await resolver.resolve("has spaces and more than sixteen")).toBeUndefined();
    const code = shortLinkCode(TEST_KEYS.links, uuidv7(), "https://later.example/");
    expect(await resolver.resolve(code)).toBeUndefined();
    expect(resolver.size).toBe(0);
  });
});
