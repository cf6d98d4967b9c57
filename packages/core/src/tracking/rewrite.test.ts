import { describe, expect, it } from "vitest";
import { TEST_KEYS } from "../security/keys.ts";
import { trackEmail, trackSms } from "./rewrite.ts";
import { type ClickToken, verifyToken } from "./tokens.ts";

const target = {
  publicUrl: "https://go.acme.example",
  key: TEST_KEYS.links,
  workspaceId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  messageId: "0190a1b2-c3d4-7e5f-8a9b-ffffffffffff",
};

function clickOf(url: string): ClickToken {
  const prefix = `${target.publicUrl}/t/c/`;
  expect(url.startsWith(prefix)).toBe(true);
  const token = verifyToken(target.key, url.slice(prefix.length));
  expect(token?.kind).toBe("click");
  return token as ClickToken;
}

describe("trackEmail", () => {
  const html = `<html><body>
    <a href="https://shop.example/sale?a=1&amp;b=2" class="cta">Sale</a>
    <a class="x" href='https://shop.example/other'>Other</a>
    <a href="mailto:help@acme.example">Mail us</a>
    <a href="#top">Top</a>
    <a href="https://shop.example/private" data-notrack>Private</a>
    <a href="https://go.acme.example/u/abc">Unsubscribe</a>
    <a name="anchor">no href</a>
  </body></html>`;
  const text =
    "Sale [https://shop.example/sale?a=1&b=2]\nOther [https://shop.example/other]\nhttps://elsewhere.example/";

  it("routes each http(s) link through a signed click token that carries the original URL", () => {
    const { html: out, links } = trackEmail(html, text, target);
    const hrefs = [...out.matchAll(/href=(?:"([^"]*)"|'([^']*)')/g)].map((m) =>
      (m[1] ?? m[2])!.replaceAll("&amp;", "&"),
    );
    expect(links).toEqual([
      { index: 0, url: "https://shop.example/sale?a=1&b=2" },
      { index: 1, url: "https://shop.example/other" },
    ]);
    expect(clickOf(hrefs[0]!)).toMatchObject({ index: 0, url: "https://shop.example/sale?a=1&b=2" });
    expect(clickOf(hrefs[1]!)).toMatchObject({ index: 1, url: "https://shop.example/other" });
    expect(hrefs.slice(2)).toEqual([
      "mailto:help@acme.example",
      "#top",
      "https://shop.example/private",
      "https://go.acme.example/u/abc",
    ]);
    expect(out).toContain('class="cta"');
  });

  it("adds one open pixel before </body> and tracks the text part's copies of the links", () => {
    const { html: out, text: outText } = trackEmail(html, text, target);
    const pixels = [...out.matchAll(/<img src="([^"]+)"/g)];
    expect(pixels).toHaveLength(1);
    const open = verifyToken(target.key, pixels[0]![1]!.slice(`${target.publicUrl}/t/o/`.length));
    expect(open).toEqual({ kind: "open", workspaceId: target.workspaceId, messageId: target.messageId });
    expect(out.indexOf("<img")).toBeLessThan(out.indexOf("</body>"));
    const textLinks = [...outText.matchAll(/https?:\/\/[^\s\]]+/g)].map((m) => m[0]);
    expect(clickOf(textLinks[0]!).url).toBe("https://shop.example/sale?a=1&b=2");
    expect(clickOf(textLinks[1]!).url).toBe("https://shop.example/other");
    // A URL that is not a link of the HTML stays as it is.
    expect(textLinks[2]).toBe("https://elsewhere.example/");
  });
});

describe("trackSms", () => {
  it("shortens each link, keeping trailing punctuation, the same code for the same URL", () => {
    const { body, links } = trackSms(
      "Sale: https://shop.example/s?x=1. Again https://shop.example/s?x=1, bye",
      target,
    );
    expect(links).toHaveLength(1);
    expect(links[0]!.url).toBe("https://shop.example/s?x=1");
    const short = `${target.publicUrl}/s/${links[0]!.code}`;
    expect(body).toBe(`Sale: ${short}. Again ${short}, bye`);
  });
});
