import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EscalationError } from "../errors.ts";
import { spawn } from "./actor.ts";
import { runRoot, stopRoot } from "./root.ts";
import { Supervisor } from "./supervisor.ts";
import type { Supervisable } from "./types.ts";

const here = import.meta.dir;

/** A process whose only child crashes on every message, so its root supervisor escalates. */
const fixture = `
import { spawn } from ${JSON.stringify(join(here, "actor.ts"))};
import { runRoot } from ${JSON.stringify(join(here, "root.ts"))};
import { Supervisor } from ${JSON.stringify(join(here, "supervisor.ts"))};

const worker = spawn({
  name: "worker",
  kind: "fixture",
  mailbox: { capacity: 10, overflow: "reject" },
  behavior: () => ({ receive() { throw new Error("disk on fire"); } }),
});
const root = new Supervisor(
  "root",
  { strategy: "one_for_one", maxRestarts: 2, periodMs: 60_000, backoffMinMs: 1, backoffMaxMs: 5 },
  [{ id: "worker", create: () => worker, restart: "permanent", shutdownMs: 1_000 }],
);
await runRoot(root);
setInterval(() => { try { worker.tell("work"); } catch {} }, 2);
`;

function fatalLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.level === "fatal");
}

describe("runRoot", () => {
  test("a process whose root supervisor escalates writes one fatal line and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coelho-root-"));
    try {
      const script = join(dir, "escalating.ts");
      writeFileSync(script, fixture);
      const child = Bun.spawn(["bun", script], { stdout: "pipe", stderr: "pipe" });
      const killer = setTimeout(() => child.kill(), 15_000);
      const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
      clearTimeout(killer);
      expect(code).toBe(1);
      const fatal = fatalLines(stderr);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]?.supervisor).toBe("root");
      const msg = String(fatal[0]?.msg);
      expect(msg.startsWith("root supervisor failed: ")).toBe(true);
      expect(msg).toContain('child "worker"');
      expect(msg).toContain("disk on fire");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a root that cannot start is fatal too, reported once", async () => {
    const codes: number[] = [];
    const fatal: unknown[] = [];
    const broken: Supervisable = {
      id: "root",
      start: () =>
        Promise.reject(new EscalationError("root", "db", { maxRestarts: 0, periodMs: 1 }, "no db")),
      stop: async () => {},
      onExit: () => {},
    };
    await runRoot(broken, { exit: (code) => codes.push(code), onFatal: (e) => fatal.push(e) });
    expect(codes).toEqual([1]);
    expect(fatal).toHaveLength(1);
  });

  test("stopRoot stops the tree in reverse order and exits 0", async () => {
    const events: string[] = [];
    const child = (id: string) =>
      spawn<string, void>({
        name: id,
        kind: "fixture",
        mailbox: { capacity: 10, overflow: "reject" },
        behavior: () => ({
          onStart: () => void events.push(`start:${id}`),
          onStop: () => void events.push(`stop:${id}`),
          receive: () => {},
        }),
      });
    const root = new Supervisor(
      "root",
      {
        strategy: "one_for_one",
        maxRestarts: 1,
        periodMs: 1_000,
        backoffMinMs: 0,
        backoffMaxMs: 0,
      },
      ["a", "b"].map((id) => ({
        id,
        create: () => child(id),
        restart: "permanent" as const,
        shutdownMs: 1_000,
      })),
    );
    const codes: number[] = [];
    await runRoot(root, { exit: (code) => codes.push(code) });
    await stopRoot(root, { timeoutMs: 1_000, exit: (code) => codes.push(code) });
    expect(events).toEqual(["start:a", "start:b", "stop:b", "stop:a"]);
    expect(codes).toEqual([0]);
  });
});
