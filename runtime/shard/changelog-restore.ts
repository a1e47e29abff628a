/**
 * Bringing a shard's local checkpoint up to its changelog (Kafka mode).
 *
 * The changelog is published before the local commit, so the local store is fresh exactly when
 * its position equals the changelog's; behind it (or missing), another process moved on, and the
 * local store is replaced, atomically, by the changelog's state and positions.
 */
import type { CheckpointStore } from "../checkpoint/store.ts";
import type { Logger } from "../logger.ts";
import type { ShardChangelog } from "./changelog.ts";

export interface ChangelogSync {
  store: CheckpointStore;
  changelog: ShardChangelog;
  /** The topic the shard reads, and its partition. */
  topic: string;
  partition: number;
  logger: Logger;
}

/** Returns true when the local store was replaced from the changelog. */
export async function syncStoreWithChangelog(sync: ChangelogSync): Promise<boolean> {
  const { store, changelog, topic, partition, logger } = sync;
  await changelog.claim?.(partition);
  const published = await changelog.position(partition);
  const local = store.position(topic, partition)?.nextOffset ?? null;
  if (published === null || (local !== null && local >= published)) return false;
  const started = performance.now();
  const states = new Map<string, string>();
  const positions = await changelog.restore(partition, (key, state) => states.set(key, state));
  store.replaceAll(states, positions);
  logger.info("shard restored from the changelog", {
    partition,
    localOffset: local,
    changelogOffset: published,
    entities: states.size,
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
  });
  return true;
}
