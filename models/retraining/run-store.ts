/**
 * Where retraining runs are recorded, passed or failed: parameters, metrics, outcome, and lineage
 * (the topic offsets of the data). The embedded store is a table in `<dataDir>/runs.sqlite`; with
 * MLflow the runs are MLflow runs (`models/registry/mlflow-runs.ts`).
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TopicOffsetRange } from "../registry/types.ts";

export type RunOutcome = "promoted" | "rejected" | "failed";

/** One retraining run as recorded. */
export interface TrainingRun {
  id: string;
  usecase: string;
  /** Why it ran: drift, schedule, examples, api. */
  trigger: string;
  startedAtMs: number;
  finishedAtMs: number;
  outcome: RunOutcome;
  /** Why it was rejected or failed. */
  reasons: string[];
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  lineage: { offsets: TopicOffsetRange[]; fromMs: number; toMs: number; rows: number };
  /** The registered version, when it passed. */
  version: number | null;
}

export interface RunStore {
  record(run: TrainingRun): Promise<void>;
  /** The use case's runs, newest first. */
  list(usecase: string, limit?: number): Promise<TrainingRun[]>;
  close(): Promise<void>;
}

/** Runs kept per use case in the embedded store (older ones are deleted). */
const RUNS_KEPT = 1000;

export class SqliteRunStore implements RunStore {
  private readonly db: Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, "runs.sqlite"));
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run(
      "CREATE TABLE IF NOT EXISTS training_runs (id TEXT PRIMARY KEY, usecase TEXT NOT NULL, finished_at_ms INTEGER NOT NULL, run TEXT NOT NULL)",
    );
  }

  async record(run: TrainingRun): Promise<void> {
    this.db
      .query(
        "INSERT OR REPLACE INTO training_runs (id, usecase, finished_at_ms, run) VALUES (?1, ?2, ?3, ?4)",
      )
      .run(run.id, run.usecase, run.finishedAtMs, JSON.stringify(run));
    this.db
      .query(
        "DELETE FROM training_runs WHERE usecase = ?1 AND id NOT IN (SELECT id FROM training_runs WHERE usecase = ?1 ORDER BY finished_at_ms DESC LIMIT ?2)",
      )
      .run(run.usecase, RUNS_KEPT);
  }

  async list(usecase: string, limit = 100): Promise<TrainingRun[]> {
    const rows = this.db
      .query(
        "SELECT run FROM training_runs WHERE usecase = ?1 ORDER BY finished_at_ms DESC LIMIT ?2",
      )
      .all(usecase, limit) as { run: string }[];
    return rows.map((r) => JSON.parse(r.run) as TrainingRun);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
