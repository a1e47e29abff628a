/**
 * `bun run retrain fraud [--url URL] [--token TOKEN] [--timeout S]`: asks a running platform to
 * retrain a use case (`POST /api/v1/models/<usecase>/retrain`, admin token) and follows the run
 * over the live stream's `retraining` channel with a progress bar, until its outcome.
 *
 * The token comes from `--token` or `COELHO_ADMIN_TOKEN`. Progress goes to stderr (redrawn in
 * place on a terminal, one line per step otherwise); the outcome goes to stdout as one line.
 * Exit status: 0 the run ended (promoted to challenger or rejected by validation) or --help,
 * 1 the run failed or the platform refused, 2 bad usage.
 */
import { parseArgs } from "node:util";
import { numberOption, parseOrExit, UsageError } from "./cli-options.ts";

const USAGE = `usage: bun run retrain <usecase> [options]
  --url URL      the platform's HTTP address (default http://127.0.0.1:3000)
  --token TOKEN  the admin token (default $COELHO_ADMIN_TOKEN)
  --timeout S    give up after S seconds (default 900)`;

interface Options {
  usecase: string;
  url: string;
  token: string;
  timeoutMs: number;
}

function parse(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  const usecase = positionals[0];
  if (positionals.length !== 1 || !usecase || !/^[a-z0-9_-]+$/.test(usecase)) {
    throw new UsageError(
      `use case: "${positionals.join(" ")}" is not valid; expected one name such as fraud`,
    );
  }
  const url = (values.url ?? "http://127.0.0.1:3000").replace(/\/$/, "");
  if (!/^https?:\/\/[^\s/]+$/.test(url)) {
    throw new UsageError(`--url: "${url}" is not valid; expected http(s)://host:port`);
  }
  const token = values.token ?? process.env.COELHO_ADMIN_TOKEN ?? "";
  if (token === "") {
    throw new UsageError("--token: missing; pass --token or set COELHO_ADMIN_TOKEN");
  }
  const timeoutS = numberOption(values.timeout, "timeout", 1, 86_400, true) ?? 900;
  return { usecase, url, token, timeoutMs: timeoutS * 1000 };
}

/** A retraining progress event, as the retraining loop publishes it. */
interface Progress {
  stage: string;
  done: number;
  total: number;
  run?: string;
  outcome?: string;
  version?: number;
  reasons?: string[];
  tunePrAuc?: number;
}

const BAR_WIDTH = 24;

/** One progress line: the stage, and a bar while candidates train. */
export function progressLine(p: Progress): string {
  if (p.total > 0) {
    const filled = Math.round((BAR_WIDTH * Math.min(p.done, p.total)) / p.total);
    const bar = `${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}`;
    const best = p.tunePrAuc === undefined ? "" : `  tune PR-AUC ${p.tunePrAuc.toFixed(4)}`;
    return `${p.stage.padEnd(11)} [${bar}] ${p.done}/${p.total}${best}`;
  }
  return p.stage;
}

/** Follows the run: resolves with its final progress event ("done"). */
function follow(options: Options, started: () => Promise<void>): Promise<Progress> {
  const wsUrl = `${options.url.replace(/^http/, "ws")}/ws`;
  const tty = process.stderr.isTTY === true;
  return new Promise<Progress>((resolve, reject) => {
    const socket = new WebSocket(wsUrl);
    let run: string | undefined;
    const timer = setTimeout(() => {
      socket.close();
      reject(
        new Error(`no outcome within ${options.timeoutMs / 1000} s; the run may still be going`),
      );
    }, options.timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    };
    socket.onerror = () => fail(new Error(`cannot open the live stream at ${wsUrl}`));
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as {
        type?: string;
        channel?: string;
        data?: { data?: Progress };
      };
      if (message.type === "welcome") {
        socket.send(
          JSON.stringify({ type: "subscribe", channels: ["retraining"], usecase: options.usecase }),
        );
        return;
      }
      if (message.type === "subscribed") {
        started().catch(fail);
        return;
      }
      const progress = message.channel === "retraining" ? message.data?.data : undefined;
      if (!progress) return;
      run ??= progress.run;
      if (progress.run !== undefined && progress.run !== run) return;
      if (progress.stage === "done") {
        if (tty) process.stderr.write("\n");
        clearTimeout(timer);
        socket.close();
        resolve(progress);
        return;
      }
      const line = progressLine(progress);
      process.stderr.write(tty ? `\r${line.padEnd(72)}` : `${line}\n`);
    };
  });
}

async function main(): Promise<number> {
  const options = parseOrExit(USAGE, parse);
  const start = async () => {
    console.error(`retraining ${options.usecase} on ${options.url}`);
    const response = await fetch(`${options.url}/api/v1/models/${options.usecase}/retrain`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "cli" }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as { error?: string };
      throw new Error(
        `the platform refused (${response.status}): ${body.error ?? response.statusText}`,
      );
    }
    console.error(`retraining ${options.usecase} on ${options.url}`);
  };
  try {
    const done = await follow(options, start);
    const reasons = done.reasons?.length ? ` (${done.reasons.join("; ")})` : "";
    const version = done.version == null ? "" : ` version ${done.version}`;
    console.log(
      `${options.usecase} retraining ${done.run ?? ""}: ${done.outcome}${version}${reasons}`,
    );
    return done.outcome === "failed" ? 1 : 0;
  } catch (error) {
    console.error(`retrain: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main());
