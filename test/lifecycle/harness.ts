/**
 * The fraud serving path with its model lifecycle, in one process and in accelerated event time:
 * the real simulator (with drift scenarios), the shard's own feature code and card states, the real
 * serving processor (`fraudServing`), inference actor (ONNX), champion watcher, embedded log,
 * SQLite or MLflow registry, and the real {@link UseCaseLifecycle} (drift, retraining in a worker,
 * rollout, challenger watcher). Only the consumer group and shard actors are left out: events
 * reach the processor in event-time order from the simulator, as one partition would deliver them.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInferenceActor, type InferenceActor } from "../../actors/inference/index.ts";
import { ChampionWatcher } from "../../actors/models/champion-watcher.ts";
import {
  type CardState,
  initialCardState,
  updateCardState,
} from "../../models/fraud/card-state.ts";
import {
  FRAUD_LABELS_TOPIC,
  FRAUD_TRANSACTIONS_TOPIC,
  isLabel,
} from "../../models/fraud/entity.ts";
import { fraudLifecycle } from "../../models/fraud/lifecycle.ts";
import { type Label, type Transaction, transactionEntityKey } from "../../models/fraud/schema.ts";
import {
  FRAUD_EXAMPLES_TOPIC,
  FRAUD_SCORES_TOPIC,
  type FraudExample,
  fraudServing,
} from "../../models/fraud/serving.ts";
import type { DriftSpec } from "../../models/fraud/simulator/drift.ts";
import { FraudSimulation } from "../../models/fraud/simulator/simulation.ts";
import { fraudModelVersion, trainFraudModels } from "../../models/fraud/train.ts";
import { openSqliteRegistry } from "../../models/registry/sqlite-registry.ts";
import type { ModelRegistry } from "../../models/registry/types.ts";
import type {
  UseCaseLifecycle,
  UseCaseLifecycleOptions,
} from "../../models/retraining/lifecycle.ts";
import { averagePrecision } from "../../models/trainers/metrics.ts";
import { CommandRegistry } from "../../runtime/introspection/commands.ts";
import { MachineRegistry } from "../../runtime/introspection/machines.ts";
import { PlatformEvents } from "../../runtime/introspection/platform-events.ts";
import { openEmbeddedLog } from "../../runtime/log/embedded/index.ts";
import type { Log, StoredRecord } from "../../runtime/log/log.ts";
import { silentLogger } from "../../runtime/logger.ts";

export const DAY_MS = 86_400_000;
export const START_MS = Date.UTC(2025, 0, 1);

export interface HarnessOptions {
  seed?: number;
  cards?: number;
  /** Days of history the first champion is trained on. */
  historyDays?: number;
  drift?: DriftSpec[];
  /** Label delays are multiplied by this (shorter feedback in a short run). */
  labelDelayScale?: number;
  /** The registry to use (default: SQLite in the harness's folder). */
  registry?: ModelRegistry;
  lifecycle?: Partial<UseCaseLifecycleOptions>;
}

export class LifecycleHarness {
  readonly dir = mkdtempSync(join(tmpdir(), "coelho-lifecycle-"));
  readonly machines = new MachineRegistry();
  readonly events = new PlatformEvents();
  readonly commands = new CommandRegistry();
  log!: Log;
  registry!: ModelRegistry;
  inference!: InferenceActor;
  watcher!: ChampionWatcher;
  lifecycle!: UseCaseLifecycle;
  readonly simulation: FraudSimulation;
  private readonly states = new Map<string, CardState>();
  private processor!: ReturnType<typeof fraudServing>;
  private offset = 0;
  /** Transactions handed to the serving path, and labelled examples written. */
  transactions = 0;
  readonly examples: FraudExample[] = [];
  clockMs = START_MS;

  constructor(private readonly o: HarnessOptions = {}) {
    this.simulation = new FraudSimulation({
      seed: o.seed ?? 11,
      cards: o.cards ?? 2000,
      startMs: START_MS,
      labelDelays: { scale: o.labelDelayScale ?? 0.25 },
      drift: o.drift,
    });
  }

  /** Trains the first champion on the history, registers and promotes it, starts serving. */
  async start(): Promise<number> {
    const historyEnd = START_MS + (this.o.historyDays ?? 20) * DAY_MS;
    const transactions: Transaction[] = [];
    const labels: Label[] = [];
    for (;;) {
      const item = this.simulation.next();
      if (item.kind === "label") {
        labels.push(item.label);
        continue;
      }
      // The history's card states carry on into the live stream (one continuous world).
      const tx = item.event;
      const key = transactionEntityKey(tx);
      this.states.set(key, updateCardState(this.states.get(key) ?? initialCardState(), tx));
      transactions.push(tx);
      if (tx.timeMs >= historyEnd) break;
    }
    this.clockMs = historyEnd;
    const result = trainFraudModels({
      transactions,
      labels,
      seed: 1,
      costs: { reviewFeeUsd: 5, chargebackFeeUsd: 15 },
      labelWindowMs: 2 * DAY_MS,
      gbtParams: { rounds: 150 },
    });
    const version = fraudModelVersion(result, "gbt", { offsets: [], source: "harness history" });
    this.log = await openEmbeddedLog({ dir: join(this.dir, "log"), fsync: "never" });
    for (const topic of [FRAUD_SCORES_TOPIC, FRAUD_EXAMPLES_TOPIC]) {
      await this.log.ensureTopic({ name: topic, partitions: 1 });
    }
    this.registry = this.o.registry ?? (await openSqliteRegistry({ dataDir: this.dir }));
    // fraudModelVersion carries the drift reference (validation-period bins) in the schema.
    const registered = await this.registry.register(version);
    await this.registry.setAlias("fraud", "champion", registered.version);
    this.inference = createInferenceActor({
      name: "inference-fraud-harness",
      usecase: "fraud",
      featureCount: result.gbt.schema.names.length,
      mailbox: { capacity: 100_000, overflow: "backpressure" },
      logger: silentLogger,
    });
    await this.inference.start();
    this.watcher = new ChampionWatcher({
      usecase: "fraud",
      registry: this.registry,
      inference: this.inference,
      pollMs: 200,
      logger: silentLogger,
    });
    await this.watcher.start();
    this.lifecycle = fraudLifecycle("fraud", {
      machines: this.machines,
      events: this.events,
      commands: this.commands,
      ...this.o.lifecycle,
    });
    await this.lifecycle.start({
      registry: this.registry,
      log: this.log,
      inference: this.inference,
      dataDir: this.dir,
      isLeader: () => true,
      logger: silentLogger,
      championVersion: () => this.watcher.serving()?.version ?? null,
      pollMs: 200,
    });
    this.processor = fraudServing(
      {
        log: this.log,
        scoresTopic: FRAUD_SCORES_TOPIC,
        inference: this.inference,
        serving: () => this.watcher.serving(),
        usecase: "fraud",
        lifecycle: this.lifecycle,
        onExamples: (examples) => this.examples.push(...examples),
      },
      0,
    );
    return registered.version;
  }

  /**
   * Runs the stream until event time `untilMs`, `batch` transactions per processor batch, at most
   * `eventsPerSecond` transactions per wall second (retraining gets wall time to run meanwhile).
   */
  async runUntil(
    untilMs: number,
    options: { batch?: number; eventsPerSecond?: number } = {},
  ): Promise<void> {
    const batch = options.batch ?? 500;
    const rate = options.eventsPerSecond ?? 5000;
    const started = performance.now();
    let sent = 0;
    while (this.clockMs < untilMs) {
      const inBatch = this.handOver(batch);
      await this.processor.flush(Promise.resolve());
      this.transactions += inBatch;
      sent += inBatch;
      const aheadMs = (sent / rate) * 1000 - (performance.now() - started);
      await Bun.sleep(Math.max(0, aheadMs));
    }
  }

  /**
   * Hands the next `transactions` (and the labels between them) to the serving path and flushes
   * them as one batch whose input becomes durable when `inputVisible` resolves.
   */
  flushNext(transactions: number, inputVisible: Promise<void>): Promise<void> {
    this.transactions += this.handOver(transactions);
    return this.processor.flush(inputVisible);
  }

  /** Feeds the serving path `transactions` transactions (labels in between too); returns them. */
  private handOver(transactions: number): number {
    let inBatch = 0;
    while (inBatch < transactions) {
      const item = this.simulation.next();
      const record: StoredRecord = {
        offset: this.offset++,
        key: item.record.key,
        value: item.record.value,
        headers: {},
        timestampMs: item.record.timestampMs ?? 0,
      };
      if (item.kind === "label") {
        const state = this.states.get(item.label.card_id) ?? initialCardState();
        this.processor.onEvent(item.label.card_id, state, item.label, record, FRAUD_LABELS_TOPIC);
        continue;
      }
      const tx = item.event;
      const key = transactionEntityKey(tx);
      const before = this.states.get(key) ?? initialCardState();
      this.processor.onEvent(key, before, tx, record, FRAUD_TRANSACTIONS_TOPIC);
      this.states.set(key, updateCardState(before, tx));
      this.clockMs = tx.timeMs;
      inBatch++;
    }
    return inBatch;
  }

  /** PR-AUC of the served scores of examples whose transactions fall in [fromMs, toMs). */
  prAuc(fromMs: number, toMs: number): { prAuc: number; rows: number; positives: number } {
    const rows = this.examples.filter((e) => {
      const t = Date.parse(e.event_time);
      return t >= fromMs && t < toMs;
    });
    const labels = rows.map((e) => e.label);
    return {
      prAuc: averagePrecision(
        rows.map((e) => e.score),
        labels,
      ),
      rows: rows.length,
      positives: labels.filter((l) => l === 1).length,
    };
  }

  async stop(): Promise<void> {
    await this.lifecycle?.stop();
    await this.watcher?.stop();
    // dispose, not stop: it also releases the models, whose scoring workers would otherwise keep
    // the process alive after the last test or benchmark.
    await this.inference?.dispose(5000);
    await this.processor?.close?.();
    await this.registry?.close();
    await this.log?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { isLabel };
