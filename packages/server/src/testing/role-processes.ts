/**
 * Roles as real processes, for the multi-process test and `npm run bench -- scale`: each role is the
 * `omneural` binary (bin/omneural.js) in a child process of its own, on a free loopback port, with the
 * environment an operator would give it and nothing inherited but PATH and HOME. Also an SMTP server
 * on loopback that keeps the provider's log of what it accepted (Message-ID, recipient), plus the raw
 * text of the first few messages, so that a test can follow a link of a delivered email.
 *
 * No vitest here: the benchmark imports it too.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ProviderAcceptance } from "@omneural/core/delivery/reconcile";
import { keepConnectionErrors } from "@omneural/core/testing/smtp-senders";
import { SMTPServer } from "smtp-server";

export const OMNEURAL_BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../bin/omneural.js",
);

export type RoleName = "api" | "worker" | "tracking";

export interface RoleProcess {
  name: string;
  role: RoleName;
  child: ChildProcess;
  /** The HTTP roles' base URL (http://127.0.0.1:PORT); workers have none. */
  url?: string;
  /** The last 64 KB the process wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** A port nobody listens on now (the OS picks it; the role binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What every process of the installation shares; each role adds its PORT. */
export function installationEnv(settings: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    HOST: "127.0.0.1",
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
  };
  for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[key] = value;
  return env;
}

/**
 * Starts `omneural <role>` and resolves once it is ready: an HTTP role when `/readyz` (api) or
 * `/healthz` (tracking) answers 200, a
 * worker when it has logged "worker started". Fails with the process's output if it exits first.
 */
export async function startRole(
  role: RoleName,
  name: string,
  env: Record<string, string>,
  options: { timeoutMs?: number; port?: number } = {},
): Promise<RoleProcess> {
  const port = role === "worker" ? undefined : (options.port ?? (await freePort()));
  const child = spawn(process.execPath, [OMNEURAL_BIN, role], {
    // Workers say "worker started" at info; the HTTP roles log every request at info, so only warnings.
    env: { ...env, ...(port ? { PORT: String(port), LOG_LEVEL: "warn" } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let started = false;
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-65_536);
    if (!started && role === "worker" && output.includes('"worker started"')) started = true;
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  let exitCode: number | string | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const url = port ? `http://127.0.0.1:${port}` : undefined;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(`${name} (omneural ${role}) exited with ${exitCode} before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} (omneural ${role}) was not ready in time:\n${output}`);
    }
    if (url) {
      // The API's readiness includes the migrations; the tracking role has only liveness.
      const ready = await fetch(`${url}/${role === "api" ? "readyz" : "healthz"}`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
    } else if (started) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name,
    role,
    child,
    ...(url ? { url } : {}),
    output: () => output,
    exited,
    async stop(graceMs = 15_000) {
      if (exitCode !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a one-off `omneural …` command and returns its stdout. */
export async function runCommand(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const { stdout } = await promisify(execFile)(process.execPath, [OMNEURAL_BIN, ...args], {
    env,
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

export interface DeliveredMessage extends ProviderAcceptance {
  recipient: string;
}

export interface DeliverySink {
  port: number;
  /** Every message accepted, in order. */
  accepted: DeliveredMessage[];
  /** The raw text of the first `keepRaw` messages accepted. */
  raws: string[];
  /** Connections that failed (a sender killed mid-message resets its connection). */
  connectionErrors: Error[];
  /**
   * From now on, keep each message received without answering it: its sender waits with the message
   * in flight, as with a slow provider.
   */
  hold(): void;
  /** Messages received and not answered yet. */
  held(): number;
  /**
   * Accept the held messages (a provider that has the whole message delivers it, whether or not its
   * answer reaches a sender that has gone meanwhile) and answer from now on at once.
   */
  release(): void;
  close(): Promise<void>;
}

function header(head: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, "im").exec(head);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, " ").trim() : "";
}

/** An SMTP server on loopback keeping the provider's log (one record per accepted message). */
export async function startDeliverySink(options: { keepRaw?: number } = {}): Promise<DeliverySink> {
  const keepRaw = options.keepRaw ?? 0;
  const accepted: DeliveredMessage[] = [];
  const raws: string[] = [];
  let holding = false;
  const held: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const end = raw.search(/\r?\n\r?\n/);
        const head = end === -1 ? raw : raw.slice(0, end);
        const accept = () => {
          accepted.push({
            messageId: header(head, "Message-ID"),
            recipient: session.envelope.rcptTo[0]?.address ?? header(head, "To"),
            acceptedAt: new Date(),
          });
          if (raws.length < keepRaw) raws.push(raw);
          callback();
        };
        if (holding) held.push(accept);
        else accept();
      });
    },
  });
  // The multi-process test kills a worker in the middle of a message: its connection is reset.
  const connectionErrors = keepConnectionErrors(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    accepted,
    raws,
    connectionErrors,
    hold() {
      holding = true;
    },
    held: () => held.length,
    release() {
      holding = false;
      for (const accept of held.splice(0)) accept();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `check` every `everyMs` until it returns a value other than undefined. */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
