/**
 * Who retrains in Kafka mode (docs/retraining.md): the one member running partition 0 of the use
 * case's shard topic. Two fraud processes share the partitions; a retrain request is started on
 * the leader and refused on the follower (409, saying why); once the leader is killed, the
 * follower takes partition 0 and with it the retraining. Against the real broker.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { KafkaLog } from "../../runtime/log/kafka/index.ts";
import { openTestKafkaLog, uniqueName } from "../support/kafka-broker.ts";
import { type PlatformProcess, startPlatform, waitFor } from "../support/platform-process.ts";
import { tempDirs } from "../support/temp-dirs.ts";

setDefaultTimeout(240_000);
const PARTITIONS = 4;
const TOKEN = "leader-test-token";

let brokers = "";
let log: KafkaLog;
const temp = tempDirs({ removeAfterAll: false });
const processes: PlatformProcess[] = [];

beforeAll(async () => {
  ({ brokers, log } = await openTestKafkaLog("leader"));
});

afterAll(async () => {
  for (const p of processes) p.proc.kill("SIGKILL");
  await Promise.all(processes.map((p) => p.proc.exited));
  await log?.close();
  await temp.removeAll();
});

function fraudInstance(appId: string, id: string): PlatformProcess {
  const dataDir = temp.make(`coelho-leader-${id}-`);
  const p = startPlatform({
    COELHO_KAFKA_BROKERS: brokers,
    COELHO_APP_ID: appId,
    COELHO_INSTANCE_ID: id,
    COELHO_DATA_DIR: dataDir,
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_USECASES: "fraud",
    COELHO_AUTO_TRAIN: "false",
    COELHO_ADMIN_TOKEN: TOKEN,
    COELHO_KAFKA_SESSION_TIMEOUT_MS: "6000",
  });
  processes.push(p);
  return p;
}

interface ShardsBody {
  lifecycles: { partition: number; state: string }[];
}

async function running(p: PlatformProcess): Promise<number[]> {
  const { body } = await p.get<ShardsBody>("/api/v1/shards");
  return body.lifecycles.filter((l) => l.state === "running").map((l) => l.partition);
}

async function retrain(p: PlatformProcess): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${p.port}/api/v1/models/fraud/retrain`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ reason: "leader test" }),
  });
  return { status: response.status, body: await response.json() };
}

describe("retraining leader on Kafka", () => {
  test("the owner of partition 0 retrains; the other refuses, and takes over when it dies", async () => {
    const appId = uniqueName("leader");
    const a = fraudInstance(appId, "a");
    const b = fraudInstance(appId, "b");
    const [owners, follower] = await waitFor(
      "both processes running two partitions each",
      120_000,
      async () => {
        const [ra, rb] = [await running(a), await running(b)];
        if (ra.length + rb.length !== PARTITIONS || ra.length === 0 || rb.length === 0) {
          return undefined;
        }
        return ra.includes(0) ? [a, b] : [b, a];
      },
    );
    const leader = owners;

    const refused = await retrain(follower);
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain("not the retraining leader");

    const accepted = await retrain(leader);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ usecase: "fraud", action: "retrain", started: true });

    leader.proc.kill("SIGKILL");
    await leader.proc.exited;
    await waitFor("the survivor running every partition", 120_000, async () =>
      (await running(follower)).length === PARTITIONS ? true : undefined,
    );
    const takenOver = await retrain(follower);
    expect(takenOver.status).toBe(200);
    expect(takenOver.body).toMatchObject({ started: true });
    expect(follower.stderr()).not.toContain('"level":"fatal"');
  });
});
