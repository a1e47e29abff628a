import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { StoredRecord } from "../../runtime/log/log.ts";
import type { CardState } from "./card-state.ts";
import { fraudEntityModel } from "./entity.ts";
import { buildFeatureSchema, computeFeatures, FEATURE_INDEX as F } from "./features.ts";
import { replayDataset } from "./replay.ts";
import { IMPOSSIBLE_SPEED_KMH, rulesScore } from "./rules.ts";
import type { LabelEvent, Transaction } from "./schema.ts";
import { fraudEvents } from "./simulator/events.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const schema = buildFeatureSchema({ encoding: "onehot" });

interface Recorded {
  records: StoredRecord[];
  transactions: Transaction[];
  labels: LabelEvent[];
  truth: Map<string, boolean>;
}

function record(count: number, seed: number, cards: number): Recorded {
  const out: Recorded = { records: [], transactions: [], labels: [], truth: new Map() };
  for (const item of fraudEvents({ seed, cards, count, drainLabels: true })) {
    if (item.kind === "label") {
      out.labels.push(item.label);
      continue;
    }
    out.records.push({
      offset: out.records.length,
      key: item.record.key,
      value: item.record.value,
      headers: {},
      timestampMs: item.record.timestampMs ?? 0,
    });
    out.transactions.push(item.event);
    out.truth.set(item.event.transaction_id, item.fraud !== null);
  }
  return out;
}

/**
 * What the shard does, event by event: decode the record, find the entity, compute features from
 * the state before, apply the model's pure update, and now and then checkpoint and restore the
 * states through the model's codec (as a restart would).
 */
function servingFeatures(records: StoredRecord[]): Float64Array[] {
  const model = fraudEntityModel();
  let states = new Map<string, CardState>();
  const rows: Float64Array[] = [];
  records.forEach((stored, i) => {
    const event = model.decode(stored, model.inputTopic);
    const key = model.key(event);
    const before = states.get(key) ?? model.initial(key);
    rows.push(computeFeatures(before, event, schema));
    states.set(key, model.update(before, event));
    if (i % 5000 === 4999) {
      // Copied as the shard copies them: the codec hands out one reused buffer.
      const checkpoint = [...states].map(([k, s]) => [k, model.encodeState(s).slice()] as const);
      states = new Map(checkpoint.map(([k, bytes]) => [k, model.decodeState(bytes)]));
    }
  });
  return rows;
}

describe("training/serving parity", () => {
  test("the shard's path and the offline replay compute identical features", () => {
    const data = record(20_000, 17, 1500);
    const serving = servingFeatures(data.records);
    const offline = replayDataset(data.transactions, { schema, unlabelled: "keep" });
    expect(offline.rows).toBe(serving.length);
    expect(offline.cols).toBe(schema.names.length);
    let mismatches = 0;
    serving.forEach((row, r) => {
      const replayed = offline.x.subarray(r * offline.cols, (r + 1) * offline.cols);
      for (let c = 0; c < row.length; c++) if (!Object.is(row[c], replayed[c])) mismatches++;
    });
    expect(mismatches).toBe(0);
  });
});

describe("replayDataset", () => {
  let data: Recorded;
  beforeAll(() => {
    data = record(30_000, 21, 2000);
  });

  test("joins labels by transaction id; unlabelled rows are dropped by default", () => {
    const ds = replayDataset(data.transactions, { schema, labels: data.labels });
    const labelled = new Set(data.labels.map((l) => l.transaction_id));
    const expected = data.transactions.filter((t) => labelled.has(t.transaction_id));
    expect(ds.rows).toBe(expected.length);
    expect(ds.featureNames).toEqual(schema.names);
    expect(ds.x.length).toBe(ds.rows * ds.cols);
    for (let r = 0; r < ds.rows; r++) {
      const tx = expected[r] as Transaction;
      expect(ds.y[r]).toBe(data.truth.get(tx.transaction_id) ? 1 : 0);
      expect(ds.time[r]).toBe(tx.timeMs);
    }
  });

  test("a label cutoff hides labels not yet known, as at training time", () => {
    const cutoff = (data.transactions[data.transactions.length - 1]?.timeMs ?? 0) - 86_400_000;
    const ds = replayDataset(data.transactions, {
      schema,
      labels: data.labels,
      labelCutoffMs: cutoff,
    });
    const known = data.labels.filter((l) => Date.parse(l.label_time) <= cutoff).length;
    expect(ds.rows).toBe(known);
    expect(ds.rows).toBeLessThan(data.labels.length);
  });

  test("keeps unlabelled rows as NaN when asked, and stops at rowsMax", () => {
    const all = replayDataset(data.transactions, { schema, unlabelled: "keep" });
    expect(all.rows).toBe(data.transactions.length);
    expect(Number.isNaN(all.y[0])).toBe(true);
    expect(
      replayDataset(data.transactions, { schema, unlabelled: "keep", rowsMax: 100 }).rows,
    ).toBe(100);
  });

  test("uses inline is_fraud (the original format) when there is no label event", () => {
    const original = [...fraudEvents({ seed: 2, count: 500, originalFormat: true })].flatMap((i) =>
      i.kind === "transaction" ? [i.event] : [],
    );
    const ds = replayDataset(original, { schema });
    expect(ds.rows).toBe(500);
    expect(Array.from(ds.y)).toEqual(original.map((t) => t.is_fraud ?? -1));
  });
});

describe("the scenarios are learnable from the features", () => {
  const rows: { f: Float64Array; fraud: boolean }[] = [];
  let baseline = 0;
  beforeAll(() => {
    const data = record(150_000, 33, 5000);
    const ds = replayDataset(data.transactions, { schema, unlabelled: "keep" });
    for (let r = 0; r < ds.rows; r++) {
      const id = data.transactions[r]?.transaction_id ?? "";
      rows.push({
        f: ds.x.slice(r * ds.cols, (r + 1) * ds.cols),
        fraud: data.truth.get(id) === true,
      });
    }
    baseline = rows.filter((r) => r.fraud).length / rows.length;
  });

  const fraudRate = (keep: (f: Float64Array) => boolean) => {
    const chosen = rows.filter((r) => keep(r.f));
    return { n: chosen.length, rate: chosen.filter((r) => r.fraud).length / chosen.length };
  };

  test("impossible travel, new device and IP, and card-testing bursts each lift the fraud rate", () => {
    const travel = fraudRate(
      (f) =>
        (f[F.speed_from_last_kmh] ?? 0) > IMPOSSIBLE_SPEED_KMH &&
        (f[F.distance_from_last_km] ?? 0) > 300,
    );
    const newDevice = fraudRate(
      (f) => f[F.device_new] === 1 && f[F.ip_new] === 1 && f[F.is_first_tx] === 0,
    );
    const burst = fraudRate((f) => (f[F.new_merchant_count_1h] ?? 0) >= 2);
    for (const rule of [travel, newDevice, burst]) {
      expect(rule.n).toBeGreaterThan(100);
      expect(rule.rate).toBeGreaterThan(10 * baseline);
    }
  });

  test("the rules baseline ranks fraud well above legitimate traffic", () => {
    const scored = rows.map((r) => ({ s: rulesScore(r.f), y: r.fraud })).sort((a, b) => a.s - b.s);
    // AUC by the rank-sum statistic, ties averaged.
    let positives = 0;
    let rankSum = 0;
    for (let i = 0; i < scored.length; ) {
      let j = i;
      while (j < scored.length && scored[j]?.s === scored[i]?.s) j++;
      for (let k = i; k < j; k++) {
        if (scored[k]?.y) {
          positives++;
          rankSum += (i + j + 1) / 2;
        }
      }
      i = j;
    }
    const negatives = scored.length - positives;
    const auc = (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
    expect(auc).toBeGreaterThan(0.85);
    const flagged = fraudRate((f) => rulesScore(f) >= 0.5);
    expect(flagged.rate).toBeGreaterThan(20 * baseline);
  });
});
