/**
 * Retraining runs recorded on the MLflow server (the cluster's {@link RunStore}): one MLflow run per
 * training in the use case's experiment, with its parameters, metrics, outcome and lineage as tags,
 * whether it passed or not. (A passed candidate also has the run its registered version made.)
 */
import type { RunStore, TrainingRun } from "../retraining/run-store.ts";
import { MlflowClient } from "./mlflow-client.ts";

export class MlflowRunStore implements RunStore {
  private readonly client: MlflowClient;

  constructor(
    url: string,
    private readonly prefix = "coelho/",
  ) {
    this.client = new MlflowClient({ url });
  }

  async record(run: TrainingRun): Promise<void> {
    const experimentId = await this.experiment(run.usecase);
    const { run: created } = await this.client.post<{ run: { info: { run_id: string } } }>(
      "runs/create",
      {
        experiment_id: experimentId,
        run_name: `training-${run.id}`,
        start_time: run.startedAtMs,
        tags: [
          { key: "coelho.training_run", value: run.id },
          { key: "coelho.outcome", value: run.outcome },
          { key: "coelho.trigger", value: run.trigger },
          { key: "coelho.reasons", value: run.reasons.join("\n").slice(0, 5000) },
          { key: "coelho.lineage", value: JSON.stringify(run.lineage).slice(0, 5000) },
          { key: "coelho.version", value: String(run.version ?? "") },
        ],
      },
    );
    const runId = created.info.run_id;
    const params = Object.entries(run.params).map(([key, value]) => ({
      key: key.slice(0, 250),
      value: (typeof value === "string" ? value : JSON.stringify(value)).slice(0, 6000),
    }));
    const metrics = Object.entries(run.metrics)
      .filter(([, v]) => Number.isFinite(v))
      .map(([key, value]) => ({ key, value, timestamp: run.finishedAtMs, step: 0 }));
    for (let i = 0; i < Math.max(params.length, metrics.length); i += 100) {
      await this.client.post("runs/log-batch", {
        run_id: runId,
        params: params.slice(i, i + 100),
        metrics: metrics.slice(i, i + 100),
      });
    }
    await this.client.post("runs/update", {
      run_id: runId,
      status: run.outcome === "failed" ? "FAILED" : "FINISHED",
      end_time: run.finishedAtMs,
    });
  }

  async list(usecase: string, limit = 100): Promise<TrainingRun[]> {
    const experimentId = await this.experiment(usecase);
    const { runs = [] } = await this.client.post<{
      runs?: { data: { tags?: { key: string; value: string }[] } }[];
    }>("runs/search", {
      experiment_ids: [experimentId],
      filter: "tags.`coelho.training_run` != ''",
      max_results: limit,
      order_by: ["attributes.start_time DESC"],
    });
    return runs.map((r) => {
      const tags = new Map((r.data.tags ?? []).map((t) => [t.key, t.value]));
      return {
        id: tags.get("coelho.training_run") ?? "",
        usecase,
        trigger: tags.get("coelho.trigger") ?? "",
        startedAtMs: 0,
        finishedAtMs: 0,
        outcome: (tags.get("coelho.outcome") ?? "failed") as TrainingRun["outcome"],
        reasons: (tags.get("coelho.reasons") ?? "").split("\n").filter(Boolean),
        params: {},
        metrics: {},
        lineage: JSON.parse(
          tags.get("coelho.lineage") ?? '{"offsets":[],"fromMs":0,"toMs":0,"rows":0}',
        ),
        version: Number(tags.get("coelho.version")) || null,
      };
    });
  }

  async close(): Promise<void> {}

  private experiment(usecase: string): Promise<string> {
    return this.client.experimentId(`${this.prefix}${usecase}`);
  }
}
