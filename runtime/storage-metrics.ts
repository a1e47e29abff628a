/**
 * What the platform keeps on disk, read at each scrape: the data folder's filesystem (size and
 * bytes available, as node_exporter's `node_filesystem_*_bytes`, for the pod's volume or the
 * laptop's disk) and, on the embedded log, the bytes each topic holds. So that a volume filling
 * up is seen, and alerted on, before a shard's checkpoint or a log append fails with ENOSPC.
 */
import { statfsSync } from "node:fs";
import { Gauge } from "prom-client";
import { registry } from "./metrics.ts";

interface StorageSources {
  /** The data folder: checkpoints, the embedded registry and log. */
  dataDir: string | null;
  /** Bytes held per topic by the embedded log; null on Kafka (the brokers hold the topics). */
  logBytes: (() => ReadonlyMap<string, number>) | null;
}

const sources: StorageSources = { dataDir: null, logBytes: null };

/** Called by the platform once its data folder and log are open. */
export function watchStorage(next: StorageSources): void {
  sources.dataDir = next.dataDir;
  sources.logBytes = next.logBytes;
}

/** statfs of the data folder, or null before the platform set it or when it cannot be read. */
function dataVolume(): { dir: string; size: number; available: number } | null {
  if (!sources.dataDir) return null;
  try {
    const fs = statfsSync(sources.dataDir);
    return { dir: sources.dataDir, size: fs.blocks * fs.bsize, available: fs.bavail * fs.bsize };
  } catch {
    return null; // removed under a running platform: the next scrape says so by its absence
  }
}

/**
 * Below this, the data volume counts as full: the log writes zeros ahead of its appends in
 * 256-KiB steps and a checkpoint's write-ahead log grows by megabytes, so appends and checkpoints
 * fail well before the last byte.
 */
export const DATA_VOLUME_FULL_BYTES = 16 * 1024 * 1024;

/**
 * Why the platform cannot go on writing (its data volume is full), for readiness; null when there
 * is room, or before the platform set its folder.
 */
export function dataVolumeFullReason(): string | null {
  const volume = dataVolume();
  if (!volume || volume.available >= DATA_VOLUME_FULL_BYTES) return null;
  const mib = (volume.available / (1024 * 1024)).toFixed(1);
  return `data volume full: ${mib} MiB available in ${volume.dir}; appends and checkpoints fail and are retried until there is room (free space, grow the volume, or lower COELHO_LOG_RETENTION_MB)`;
}

/** A gauge of one figure of the data folder's filesystem, read at each scrape. */
function volumeGauge(name: string, help: string, figure: "size" | "available") {
  return new Gauge({
    name,
    help,
    labelNames: ["dir"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const volume = dataVolume();
      if (volume) this.set({ dir: volume.dir }, volume[figure]);
    },
  });
}

export const dataVolumeSizeBytes = volumeGauge(
  "coelho_data_volume_size_bytes",
  "Size of the filesystem holding the data folder, per folder (COELHO_DATA_DIR; one).",
  "size",
);

export const dataVolumeAvailableBytes = volumeGauge(
  "coelho_data_volume_available_bytes",
  "Bytes of the data folder's filesystem available to the platform (statfs f_bavail), per folder (COELHO_DATA_DIR; one).",
  "available",
);

export const logBytes = new Gauge({
  name: "coelho_log_bytes",
  help: "Bytes the embedded log holds per topic, all partitions (bounded by COELHO_LOG_RETENTION_MB per partition for topics that are not compacted). Absent on Kafka.",
  labelNames: ["topic"] as const,
  registers: [registry],
  collect() {
    // Reset first: a topic that went away leaves no stale series.
    this.reset();
    const bytes = sources.logBytes?.();
    if (bytes) for (const [topic, size] of bytes) this.set({ topic }, size);
  },
});
