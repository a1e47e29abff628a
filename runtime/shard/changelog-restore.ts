/**
 * Bringing a shard's local checkpoint up to its changelog (Kafka mode).
 *
 * The changelog is published before the local commit, so the local store is fresh exactly when
 * its positions equal the changelog's; behind in any input topic (or missing), another process
 * moved on, and the local store is replaced, atomically, by the changelog's state and positions.
 */
import type { CheckpointStore } from "../checkpoint/store.ts";
import type { Logger } from "../logger.ts";
import type { ShardChangelog } from "./changelog.ts";
import type { JournalEntry } from "./entity-model.ts";

export interface ChangelogSync {
  store: CheckpointStore;
  changelog: ShardChangelog;
  /** The topics the shard reads (the primary first), and its partition. */
  topics: string[];
  partition: number;
  logger: Logger;
}

/** Returns true when the local store was replaced from the changelog. */
export async function syncStoreWithChangelog(sync: ChangelogSync): Promise<boolean> {
  const { store, changelog, topics, partition, logger } = sync;
  await changelog.claim?.(partition);
  // Stale when the changelog went further in any input (every publish moves all of them at once).
  let stale: { topic: string; local: number | null; published: number } | null = null;
  for (const topic of topics) {
    const published = await changelog.position(partition, topic);
    const local = store.position(topic, partition)?.nextOffset ?? null;
    if (published !== null && (local === null || local < published)) {
      stale = { topic, local, published };
      break;
    }
  }
  if (!stale) return false;
  const started = performance.now();
  const states = new Map<string, Uint8Array>();
  const journal: JournalEntry[] = [];
  const positions = await changelog.restore(
    partition,
    (key, state) => states.set(key, state),
    (entry) => journal.push(entry),
  );
  store.replaceAll(states, positions, journal);
  logger.info("shard restored from the changelog", {
    partition,
    topic: stale.topic,
    localOffset: stale.local,
    changelogOffset: stale.published,
    entities: states.size,
    journalEntries: journal.length,
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
  });
  return true;
}
