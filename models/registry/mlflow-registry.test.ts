/**
 * The MLflow backend against a real MLflow tracking server (scripts/mlflow/up.sh provisions and
 * starts one on 127.0.0.1:19602 with a throwaway store; it is stopped afterwards).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type MlflowServer, startMlflow } from "../../test/lifecycle/mlflow-server.ts";
import { MlflowError } from "./mlflow-client.ts";
import { openMlflowRegistry } from "./mlflow-registry.ts";
import { newVersion, registryContract, retentionContract } from "./registry-contract.ts";

let server: MlflowServer;

beforeAll(async () => {
  server = await startMlflow(19602);
}, 600_000);

afterAll(async () => {
  await server?.stop();
}, 60_000);

registryContract("mlflow", async () => {
  const open = () => openMlflowRegistry({ url: server.url });
  return { registry: await open(), reopen: open };
});

retentionContract("mlflow", (keepVersions) =>
  openMlflowRegistry({ url: server.url, keepVersions }),
);

describe("MLflow registry on the server", () => {
  test("retention deletes a version's model version and ONNX artifact, and keeps its run, tagged", async () => {
    const registry = await openMlflowRegistry({ url: server.url, keepVersions: 1 });
    const usecase = `k${Date.now().toString(36)}`;
    const api = `${server.url}/api/2.0/mlflow`;
    try {
      await registry.register(newVersion(usecase));
      // biome-ignore lint/suspicious/noExplicitAny: MLflow's JSON, read as a user would.
      const first: any = await (
        await fetch(`${api}/model-versions/get?name=${usecase}&version=1`)
      ).json();
      const source = String(first.model_version.source).replace("mlflow-artifacts:/", "");
      const onnxUrl = `${server.url}/api/2.0/mlflow-artifacts/artifacts/${source}/model.onnx`;
      expect((await fetch(onnxUrl)).status).toBe(200);
      await registry.register(newVersion(usecase));
      expect((await registry.list(usecase)).map((v) => v.version)).toEqual([2]);
      expect((await fetch(`${api}/model-versions/get?name=${usecase}&version=1`)).status).toBe(404);
      expect((await fetch(onnxUrl)).ok).toBe(false);
      // biome-ignore lint/suspicious/noExplicitAny: as above.
      const run: any = await (
        await fetch(`${api}/runs/get?run_id=${first.model_version.run_id}`)
      ).json();
      const tags = new Map(
        run.run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]),
      );
      expect(String(tags.get("coelho.pruned"))).toContain("model version 1");
      expect(run.run.data.metrics.map((m: { key: string }) => m.key)).toContain("test.pr_auc");
    } finally {
      await registry.close();
    }
  });

  test("a version is an MLflow run (params, metrics, ONNX artifact) and a model version with its alias", async () => {
    const registry = await openMlflowRegistry({ url: server.url });
    const usecase = `m${Date.now().toString(36)}`;
    const v = await registry.register(newVersion(usecase));
    await registry.setAlias(usecase, "champion", v.version);
    const api = `${server.url}/api/2.0/mlflow`;
    // biome-ignore lint/suspicious/noExplicitAny: MLflow's JSON, read as a user would.
    const exp: any = await (
      await fetch(`${api}/experiments/get-by-name?experiment_name=coelho/${usecase}`)
    ).json();
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    const runs: any = await (
      await fetch(`${api}/runs/search`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ experiment_ids: [exp.experiment.experiment_id] }),
      })
    ).json();
    expect(runs.runs).toHaveLength(1);
    const run = runs.runs[0];
    expect(run.data.metrics.map((m: { key: string }) => m.key)).toContain("test.pr_auc");
    expect(run.data.params.map((p: { key: string }) => p.key)).toContain("rounds");
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    const model: any = await (await fetch(`${api}/registered-models/get?name=${usecase}`)).json();
    expect(model.registered_model.aliases).toEqual([{ alias: "champion", version: "1" }]);
    const artifact = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/${exp.experiment.experiment_id}/${run.info.run_id}/artifacts/model.onnx`,
    );
    expect(new Uint8Array(await artifact.arrayBuffer()).length).toBe(v.onnxBytes);
    await registry.close();
  });

  test("an unreachable server is a retriable MlflowError naming the URL", async () => {
    const error = await openMlflowRegistry({ url: "http://127.0.0.1:19649", timeoutMs: 2000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MlflowError);
    expect((error as MlflowError).retriable).toBe(true);
    expect((error as Error).message).toContain("127.0.0.1:19649");
  });
});
