/**
 * The worker thread behind `WorkerKafkaChangelog`: its own kafkajs clients and a
 * `KafkaChangelog` whose transactions (encoding every changed state into produce requests, the
 * CRCs, the offsets commit, the commit) run here instead of on the event loop that consumes and
 * folds the input. Calls run concurrently, as they would on the main thread; the changelog keeps
 * each partition's publishes and claims apart.
 */
import { CoelhoError, RetriesExhaustedError, ValidationError } from "../../errors.ts";
import { setLogLevel } from "../../logger.ts";
import { unpackPairs } from "../../packed-strings.ts";
import { runAsBackgroundThread } from "../../thread-priority.ts";
import { ChangelogFencedError, createKafkaChangelog, type KafkaChangelog } from "./changelog.ts";
import type {
  FromChangelogWorker,
  SerializedError,
  ToChangelogWorker,
} from "./changelog-worker-protocol.ts";
import { type KafkaLog, openKafkaLog } from "./kafka-log.ts";

declare const self: Worker;

// Checkpoint transactions are background work, as the local checkpoint writer's are.
runAsBackgroundThread();

let opened: Promise<{ log: KafkaLog; changelog: KafkaChangelog }> | null = null;

function serialize(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const out: SerializedError = { name: error.name, message: error.message };
  if (error instanceof CoelhoError) out.code = error.code;
  if (error instanceof ValidationError) out.path = error.path;
  if (error instanceof ChangelogFencedError) out.partition = error.partition;
  if (error instanceof RetriesExhaustedError) out.attempts = error.attempts;
  return out;
}

async function changelog(): Promise<KafkaChangelog> {
  if (!opened) throw new Error("the changelog worker was not initialised");
  return (await opened).changelog;
}

async function handle(message: ToChangelogWorker): Promise<void> {
  switch (message.type) {
    case "init": {
      const { init } = message;
      setLogLevel(init.logLevel);
      opened = openKafkaLog(init.log).then((log) => ({
        log,
        changelog: createKafkaChangelog(log, init.changelog),
      }));
      opened.catch(() => {
        opened = null;
      });
      await opened;
      return;
    }
    case "publish":
      return (await changelog()).publish(
        message.partition,
        unpackPairs(message.keys, message.states),
        message.positions,
        message.journal,
      );
    case "claim":
      return (await changelog()).claim(message.partition);
    case "release":
      return (await changelog()).release(message.partition);
    case "close": {
      if (!opened) return;
      const { log, changelog: open } = await opened;
      await open.close();
      await log.close();
      return;
    }
  }
}

self.onmessage = (event: MessageEvent<ToChangelogWorker>) => {
  const message = event.data;
  handle(message).then(
    () => self.postMessage({ type: "done", id: message.id } satisfies FromChangelogWorker),
    (error: unknown) =>
      self.postMessage({
        type: "failed",
        id: message.id,
        error: serialize(error),
      } satisfies FromChangelogWorker),
  );
};
