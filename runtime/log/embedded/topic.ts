/**
 * A topic of the embedded log: its metadata file (`topic.json`: partition count, compacted and
 * replayable flags) and its partitions, one folder each (`<topic>/<partition>/`).
 *
 * The metadata is written (atomically) before any partition folder, so a folder without
 * `topic.json` is a topic whose creation never completed, and is ignored.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ValidationError } from "../../errors.ts";
import type { TopicSpec } from "../log.ts";
import { writeFileAtomicSync } from "./atomic-file.ts";
import { Partition, type PartitionConfig } from "./partition.ts";

/** Name of the metadata file in a topic's folder. */
export const TOPIC_METADATA_FILE = "topic.json";
/** Most partitions of one topic; each costs a folder and an open file. */
export const PARTITIONS_MAX = 1024;
/** Kafka's legal topic names, which are also safe folder names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Contents of `topic.json`. */
interface TopicMetadata {
  version: 1;
  name: string;
  partitions: number;
  compacted: boolean;
  /** Absent in files written before the flag existed: false. */
  replayable?: boolean;
}

/** Settings every partition of a topic shares, minus where it lives. */
export type PartitionSettings = Omit<PartitionConfig, "dir" | "name" | "compacted" | "replayable">;

/** Throws a ValidationError unless `name` is a legal topic name. */
export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !TOPIC_NAME.test(name) || name === "." || name === "..") {
    throw new ValidationError(
      "topic",
      `${JSON.stringify(name)} is not a topic name; expected 1-249 characters of a-z A-Z 0-9 . _ - (not "." or "..")`,
    );
  }
}

export class Topic {
  readonly name: string;
  readonly compacted: boolean;
  readonly partitions: readonly Partition[];
  private readonly dir: string;
  private metadata: TopicMetadata;
  /** Next partition for a record without a key. */
  private roundRobin = 0;

  private constructor(dir: string, metadata: TopicMetadata, partitions: Partition[]) {
    this.name = metadata.name;
    this.compacted = metadata.compacted;
    this.partitions = partitions;
    this.dir = dir;
    this.metadata = metadata;
  }

  /** Whether readers see its records once written (`TopicSpec.replayable`). */
  get replayable(): boolean {
    return this.metadata.replayable === true;
  }

  /**
   * Makes an existing topic replayable (a topic created before its outputs were declared so):
   * its metadata says so from now on. A replayable topic stays one.
   */
  markReplayable(durable: boolean): void {
    if (this.replayable) return;
    this.metadata = { ...this.metadata, replayable: true };
    writeFileAtomicSync(
      path.join(this.dir, TOPIC_METADATA_FILE),
      `${JSON.stringify(this.metadata)}\n`,
      durable,
    );
    for (const partition of this.partitions) partition.config.replayable = true;
  }

  /** Creates the topic's folder, metadata and partitions. */
  static create(topicsDir: string, spec: TopicSpec, settings: PartitionSettings, nowMs: number) {
    validateTopicName(spec.name);
    if (
      !Number.isInteger(spec.partitions) ||
      spec.partitions < 1 ||
      spec.partitions > PARTITIONS_MAX
    ) {
      throw new ValidationError(
        "partitions",
        `${spec.partitions} is not a partition count; expected an integer from 1 to ${PARTITIONS_MAX}`,
      );
    }
    const dir = path.join(topicsDir, spec.name);
    fs.mkdirSync(dir, { recursive: true });
    const metadata: TopicMetadata = {
      version: 1,
      name: spec.name,
      partitions: spec.partitions,
      compacted: spec.compacted === true,
      replayable: spec.replayable === true,
    };
    writeFileAtomicSync(
      path.join(dir, TOPIC_METADATA_FILE),
      `${JSON.stringify(metadata)}\n`,
      settings.fsync !== "never",
    );
    return Topic.openPartitions(dir, metadata, settings, nowMs);
  }

  /** Opens an existing topic folder, or returns null when its creation never completed. */
  static open(dir: string, settings: PartitionSettings, nowMs: number): Topic | null {
    const metadataPath = path.join(dir, TOPIC_METADATA_FILE);
    if (!fs.existsSync(metadataPath)) return null;
    let metadata: TopicMetadata;
    try {
      metadata = JSON.parse(fs.readFileSync(metadataPath, "utf8")) as TopicMetadata;
    } catch (error) {
      throw new ValidationError(
        metadataPath,
        `is not topic metadata (${(error as Error).message}); restore it from a backup`,
      );
    }
    if (
      metadata.version !== 1 ||
      metadata.name !== path.basename(dir) ||
      !Number.isInteger(metadata.partitions) ||
      metadata.partitions < 1
    ) {
      throw new ValidationError(
        metadataPath,
        `is not a version 1 topic metadata file for "${path.basename(dir)}" with a partition count`,
      );
    }
    return Topic.openPartitions(dir, metadata, settings, nowMs);
  }

  private static openPartitions(
    dir: string,
    metadata: TopicMetadata,
    settings: PartitionSettings,
    nowMs: number,
  ): Topic {
    const partitions: Partition[] = [];
    for (let p = 0; p < metadata.partitions; p++) {
      partitions.push(
        Partition.open(
          {
            ...settings,
            // Changelogs must keep every key's latest value: size and age retention would lose state.
            retention: metadata.compacted ? null : settings.retention,
            compacted: metadata.compacted,
            replayable: metadata.replayable === true,
            dir: path.join(dir, String(p)),
            name: `${metadata.name}/${p}`,
          },
          nowMs,
        ),
      );
    }
    return new Topic(dir, metadata, partitions);
  }

  /** Partition for the next record without a key: round-robin, as Kafka's classic partitioner. */
  nextRoundRobinPartition(): number {
    const partition = this.roundRobin % this.partitions.length;
    this.roundRobin = (this.roundRobin + 1) % this.partitions.length;
    return partition;
  }
}
