import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../testing/app.ts";

const TOKEN = "metrics-token-0123456789";

describe("GET /metrics without METRICS_TOKEN", () => {
  const t = useTestApp();

  it("answers this machine in Prometheus format: HTTP latency by route pattern, queue gauges, process", async () => {
    const contacts = await t.asA({ method: "GET", url: "/api/v1/contacts?limit=1" });
    expect(contacts.statusCode).toBe(200);
    await t.anonymous({ method: "GET", url: "/no-such-path-4242" });
    await sql`select graphile_worker.add_job('retention', '{}'::json, run_at := now() - interval '1 minute')`.execute(
      t.database.handle.db,
    );
    const res = await t.anonymous({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    const text = res.body;
    expect(text).toMatch(
      /omneural_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/contacts",status="200"\} [1-9]/,
    );
    // A scanner's random paths share one series.
    expect(text).toContain('route="(unmatched)"');
    expect(text).not.toContain("no-such-path-4242");
    expect(text).toMatch(/^omneural_jobs_waiting [1-9]/m);
    for (const name of [
      "omneural_jobs_lag_seconds",
      "omneural_enrollments_due",
      "omneural_enrollments_due_lag_seconds",
      "omneural_engine_member_steps_total",
      "omneural_dispatch_messages_total",
      "omneural_provider_circuit_open",
      "process_cpu_user_seconds_total",
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    // No workspace, contact or key in any series.
    expect(text).not.toContain(t.a.id);
    expect(text).not.toContain(t.a.apiKey);
  });

  it("is not found from another machine", async () => {
    const res = await t.anonymous({ method: "GET", url: "/metrics", remoteAddress: "203.0.113.9" });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain("omneural_");
  });
});

describe("GET /metrics with METRICS_TOKEN", () => {
  const t = useTestApp({ METRICS_TOKEN: TOKEN });

  it("asks every scraper, this machine included, for the token", async () => {
    const bare = await t.anonymous({ method: "GET", url: "/metrics" });
    expect(bare.statusCode).toBe(404);
    const wrong = await t.anonymous({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
    });
    expect(wrong.statusCode).toBe(404);
    const right = await t.anonymous({
      method: "GET",
      url: "/metrics",
      remoteAddress: "203.0.113.9",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toContain("omneural_http_request_duration_seconds");
  });
});
