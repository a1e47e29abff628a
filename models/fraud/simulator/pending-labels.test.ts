/**
 * A simulator that stops still owes the labels of its last days of transactions (confirmations
 * come about a week of simulated time later). The next run of the world must deliver them, once
 * each, at their time: the shards keep the predictions waiting for them across the restart.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { openEmbeddedLog } from "../../../runtime/log/embedded/index.ts";
import type { Log } from "../../../runtime/log/log.ts";
import { tempDirs } from "../../../test/support/temp-dirs.ts";
import { type Label, parseLabel, parseTransaction } from "../schema.ts";
import { loadPendingLabels, pendingLabelsTopic } from "./pending-labels.ts";
import { findResumePoint } from "./resume.ts";
import { runSimulatorFor } from "./test-support.ts";

setDefaultTimeout(120_000);

const temp = tempDirs();

const PARTITIONS = 2;

/** Runs the simulator for `count` transactions; returns the owed labels it took over. */
async function runSimulator(log: Log, count: number): Promise<number> {
  const { owed } = await runSimulatorFor(count, {
    log,
    transactionsTopic: "tx",
    labelsTopic: "labels",
    partitions: PARTITIONS,
    ratePerSecond: 40_000,
    cards: 300,
    seed: 5,
  });
  return owed;
}

async function readAll<T>(log: Log, topic: string, parse: (value: Uint8Array) => T): Promise<T[]> {
  const out: T[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const end = await log.endOffset(topic, partition);
    for (let offset = 0; offset < end; ) {
      const records = await log.read(topic, partition, offset, 10_000);
      out.push(...records.map((record) => parse(record.value)));
      offset = (records[records.length - 1]?.offset ?? end) + 1;
    }
  }
  return out;
}

async function lastEventMs(log: Log): Promise<number> {
  return (await findResumePoint(log, "tx"))?.lastEventMs ?? Number.NaN;
}

test("the labels a stopped simulator owes come in the next run of its world, once each, at their time", async () => {
  const dir = temp.make("fraud-sim-pending-");
  const log = await openEmbeddedLog({ dir, fsync: "never" });
  try {
    // ~5 simulated days of 300 cards: most confirmations (a week later) are still owed.
    expect(await runSimulator(log, 4_000)).toBe(0);
    const firstRunEnd = await lastEventMs(log);
    const firstIds = new Set(
      (await readAll(log, "tx", parseTransaction)).map((t) => t.transaction_id),
    );
    const firstLabels = await readAll(log, "labels", parseLabel);
    const owed = (await loadPendingLabels(log, "labels", firstRunEnd)) as Label[];
    expect(owed.length).toBeGreaterThan(1_000);
    for (const label of owed) {
      expect(firstIds.has(label.transaction_id)).toBe(true);
      expect(label.labelTimeMs).toBeGreaterThan(firstRunEnd - 60_000);
    }
    const labelled = new Set(firstLabels.map((l) => l.transaction_id));
    expect(owed.filter((l) => labelled.has(l.transaction_id))).toEqual([]);

    // ~30 simulated days more: the owed labels come out among the new run's items.
    expect(await runSimulator(log, 25_000)).toBe(owed.length);
    const secondRunEnd = await lastEventMs(log);
    const labels = await readAll(log, "labels", parseLabel);
    const count = new Map<string, number>();
    for (const label of labels)
      count.set(label.transaction_id, (count.get(label.transaction_id) ?? 0) + 1);
    const due = owed.filter((label) => label.labelTimeMs <= secondRunEnd);
    expect(due.length).toBeGreaterThan(0.99 * owed.length);
    expect(due.filter((label) => count.get(label.transaction_id) !== 1)).toEqual([]);
    const byId = new Map(labels.map((l) => [l.transaction_id, l] as const));
    for (const label of due) {
      const came = byId.get(label.transaction_id);
      expect({ time: came?.label_time, fraud: came?.is_fraud, kind: came?.kind }).toEqual({
        time: label.label_time,
        fraud: label.is_fraud,
        kind: label.kind,
      });
    }
    // Each label is in the log at its time: after the first run's last transaction.
    expect(labels.filter((l) => labelled.has(l.transaction_id)).length).toBe(firstLabels.length);

    // The save is the last run's: a run resuming after another transaction gets none.
    expect(await loadPendingLabels(log, "labels", firstRunEnd)).toBeNull();
    const latest = (await loadPendingLabels(log, "labels", secondRunEnd)) as Label[];
    expect(latest.length).toBeGreaterThan(0);
    // A save cut short (a chunk of a newer save, no trailer after it) is not used.
    await log.append(pendingLabelsTopic("labels"), 0, [
      {
        key: new TextEncoder().encode("chunk/0"),
        value: new TextEncoder().encode(JSON.stringify({ save: "cut", labels: [] })),
      },
    ]);
    expect(await loadPendingLabels(log, "labels", secondRunEnd)).toBeNull();
  } finally {
    await log.close();
  }
});
