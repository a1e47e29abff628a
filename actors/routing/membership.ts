/**
 * Who owns which partition, across the instances of one deployment.
 *
 * Each instance publishes its identity, its advertised URL and the partitions it owns to a small
 * compacted topic (`<appId>-members`, one partition, keyed by instance id) whenever its
 * assignment changes, and every instance reads that topic to route entity queries to the owner.
 * This is the documented alternative to Kafka Streams' user data in the group protocol, which
 * kafkajs does not expose to members.
 *
 * Claims can overlap for a moment during a rebalance (the new owner has published, the old one
 * not yet); the claim written last wins, which is the new owner's. A killed instance's claims
 * stay until the instances that take its partitions publish theirs.
 */
import type { Log } from "../../runtime/log/log.ts";
import type { Logger } from "../../runtime/logger.ts";
import { PeriodicTask } from "../../runtime/periodic.ts";

export interface MemberClaim {
  instanceId: string;
  url: string;
  /** Partitions owned, per use case. */
  assignments: Record<string, number[]>;
  atMs: number;
}

export interface Owner {
  instanceId: string;
  url: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Records read per poll; the topic holds one live record per instance. */
const READ_BATCH_MAX = 1000;

export function membersTopic(appId: string): string {
  return `${appId}-members`;
}

export class Membership {
  private readonly latest = new Map<string, { offset: number; claim: MemberClaim }>();
  private nextOffset = 0;
  private readonly poller: PeriodicTask;

  constructor(
    private readonly options: {
      log: Log;
      topic: string;
      instanceId: string;
      url: () => string;
      pollMs?: number;
      logger: Logger;
    },
  ) {
    this.poller = new PeriodicTask(
      () => this.poll().catch((error) => options.logger.warn("membership poll failed", { error })),
      options.pollMs ?? 200,
    );
  }

  async start(): Promise<void> {
    await this.options.log.ensureTopic({
      name: this.options.topic,
      partitions: 1,
      compacted: true,
    });
    this.nextOffset = await this.options.log.startOffset(this.options.topic, 0);
    await this.poll();
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.poller.stop();
  }

  /** Publishes this instance's claim; it replaces the previous one. */
  async publish(assignments: Record<string, number[]>): Promise<void> {
    const claim: MemberClaim = {
      instanceId: this.options.instanceId,
      url: this.options.url(),
      assignments,
      atMs: Date.now(),
    };
    await this.options.log.append(this.options.topic, 0, [
      { key: encoder.encode(claim.instanceId), value: encoder.encode(JSON.stringify(claim)) },
    ]);
    await this.poll();
  }

  /** The instance that owns a use case's partition, as far as the claims tell. */
  owner(usecase: string, partition: number): Owner | null {
    let best: { offset: number; claim: MemberClaim } | null = null;
    for (const entry of this.latest.values()) {
      if (!entry.claim.assignments[usecase]?.includes(partition)) continue;
      if (!best || entry.offset > best.offset) best = entry;
    }
    return best ? { instanceId: best.claim.instanceId, url: best.claim.url } : null;
  }

  /** Every instance's latest claim. */
  claims(): MemberClaim[] {
    return [...this.latest.values()].map((e) => e.claim);
  }

  private async poll(): Promise<void> {
    for (;;) {
      const records = await this.options.log.read(
        this.options.topic,
        0,
        this.nextOffset,
        READ_BATCH_MAX,
      );
      for (const record of records) {
        try {
          const claim = JSON.parse(decoder.decode(record.value)) as MemberClaim;
          if (typeof claim.instanceId === "string" && typeof claim.url === "string") {
            this.latest.set(claim.instanceId, { offset: record.offset, claim });
          }
        } catch {
          this.options.logger.warn("membership: unreadable claim skipped", {
            offset: record.offset,
          });
        }
        this.nextOffset = record.offset + 1;
      }
      if (records.length < READ_BATCH_MAX) return;
    }
  }
}
