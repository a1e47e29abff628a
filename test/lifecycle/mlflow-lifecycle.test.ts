/**
 * The lifecycle against a real MLflow tracking server (scripts/mlflow/up.sh, port 19603): after a
 * retraining cycle (train in the worker, validate, register, roll out, promote) the server shows
 * the experiment, the runs with their metrics, the ONNX artifact, the model versions and the
 * champion alias; then a platform process started with COELHO_MLFLOW_URL serves that champion.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { MlflowRegistry } from "../../models/registry/mlflow-registry.ts";
import { startPlatform, waitFor } from "../support/platform-process.ts";
import { tempDirs } from "../support/temp-dirs.ts";
import { DAY_MS, LifecycleHarness } from "./harness.ts";
import { type MlflowServer, startMlflow } from "./mlflow-server.ts";

setDefaultTimeout(600_000);

let server: MlflowServer;
let harness: LifecycleHarness;
const temp = tempDirs({ removeAfterAll: false });

beforeAll(async () => {
  server = await startMlflow(19603);
  harness = new LifecycleHarness({
    seed: 5,
    cards: 1000,
    historyDays: 20,
    registry: new MlflowRegistry({ url: server.url }),
    lifecycle: {
      triggers: { onDrift: false },
      // No drift here: the candidate need not beat the champion to be rolled out in this test.
      retraining: { rowsMin: 2000, candidates: 2, policy: { margin: -1 } },
      rollout: { shadowLabelsMin: 1_000_000 },
    },
  });
}, 900_000);

afterAll(async () => {
  await harness?.stop();
  await server?.stop();
  await temp.removeAll();
}, 60_000);

// biome-ignore lint/suspicious/noExplicitAny: MLflow's JSON, read as a user would.
async function api(path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${server.url}/api/2.0/mlflow/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? undefined : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

test("a retraining cycle leaves its experiment, runs, metrics, artifact, versions and alias on MLflow", async () => {
  const first = await harness.start();
  await harness.runUntil(harness.clockMs + 8 * DAY_MS, { eventsPerSecond: 1e9 });
  const run = await harness.commands.run("fraud", "retrain", { reason: "test", wait: true });
  expect(run.outcome).toBe("promoted");
  // The candidate is the challenger (in shadow); the API's promote makes it the champion.
  expect(await harness.commands.run("fraud", "promote", {})).toEqual({ version: first + 1 });
  // The watcher reads the alias on its own schedule: the next test starts from the new champion.
  await waitFor("the promoted champion to serve", 30_000, () =>
    harness.watcher.serving()?.version === first + 1 ? true : undefined,
  );

  const experiment = await api("experiments/get-by-name?experiment_name=coelho/fraud");
  const id = experiment.experiment.experiment_id;
  const runs = await api("runs/search", { experiment_ids: [id], max_results: 100 });
  // The first champion's registration, the candidate's registration, and the training record.
  expect(runs.runs.length).toBe(3);
  const training = runs.runs.find((r: { data: { tags: { key: string }[] } }) =>
    r.data.tags.some((t) => t.key === "coelho.training_run"),
  );
  const metricKeys = training.data.metrics.map((m: { key: string }) => m.key);
  expect(metricKeys).toContain("candidate.pr_auc");
  expect(metricKeys).toContain("champion.pr_auc");
  // What the candidate relies on, charted per run in MLflow (models/explain/importance.ts).
  expect(metricKeys.filter((k: string) => k.startsWith("importance.positive.")).length).toBe(
    (await harness.registry.alias("fraud", "champion"))?.featureSchema.names.length,
  );
  const model = await api("registered-models/get?name=fraud");
  expect(model.registered_model.aliases).toEqual([{ alias: "champion", version: "2" }]);
  const version = await api("model-versions/get?name=fraud&version=2");
  const source = String(version.model_version.source).replace("mlflow-artifacts:/", "");
  const onnx = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${source}/model.onnx`);
  expect(onnx.status).toBe(200);
  expect((await onnx.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  const champion = await harness.registry.alias("fraud", "champion");
  expect(champion?.trainingData.offsets.map((o) => o.topic)).toEqual(["fraud.examples"]);
});

test("MLflow down: the champion keeps serving every event; MLflow back: an alias move is picked up", async () => {
  const serving = harness.watcher.serving()?.version;
  await server.pause();
  try {
    const before = harness.transactions;
    await harness.runUntil(harness.clockMs + DAY_MS, { eventsPerSecond: 1e9 });
    expect(harness.transactions).toBeGreaterThan(before);
    expect(await harness.log.endOffset("fraud.scores", 0)).toBe(harness.transactions);
    expect(harness.watcher.serving()?.version).toBe(serving);
    await waitFor(
      "the lifecycle to report the registry degraded",
      15_000,
      () => harness.lifecycle.problem() ?? undefined,
    );
    expect(harness.lifecycle.problem()).toContain("unreachable");
  } finally {
    // Whatever failed above, the next test needs the server back.
    await server.resume();
  }
  // Another instance (or a person) rolls back while this one was cut off: it catches up.
  await new MlflowRegistry({ url: server.url }).setAlias("fraud", "champion", 1);
  await waitFor("the rolled-back champion to serve", 30_000, () =>
    harness.watcher.serving()?.version === 1 ? true : undefined,
  );
  await harness.runUntil(harness.clockMs + DAY_MS / 4, { eventsPerSecond: 1e9 });
  expect(await harness.log.endOffset("fraud.scores", 0)).toBe(harness.transactions);
  await waitFor("the registry problem to clear", 15_000, () =>
    harness.lifecycle.problem() === null ? true : undefined,
  );
  // Back to the promoted champion for the next test.
  await new MlflowRegistry({ url: server.url }).setAlias("fraud", "champion", 2);
});

test("a platform started against that MLflow server serves its champion", async () => {
  const dataDir = temp.make("coelho-mlflow-platform-");
  const platform = startPlatform({
    COELHO_DATA_DIR: dataDir,
    COELHO_USECASES: "fraud",
    COELHO_AUTO_TRAIN: "false",
    COELHO_SIMULATE: "false",
    COELHO_PARTITIONS: "1",
    COELHO_MLFLOW_URL: server.url,
  });
  try {
    const line = await waitFor("the champion from MLflow in /metrics", 60_000, async () => {
      const text = await (await fetch(`http://127.0.0.1:${platform.port}/metrics`)).text();
      return text
        .split("\n")
        .find((l) => l.startsWith("coelho_model_version_info{") && l.includes('alias="champion"'));
    }).catch((error) => {
      throw new Error(`${(error as Error).message}\n${platform.stderr().slice(-3000)}`);
    });
    expect(line).toContain('version="2"');
  } finally {
    platform.proc.kill("SIGTERM");
    await platform.proc.exited;
  }
});
