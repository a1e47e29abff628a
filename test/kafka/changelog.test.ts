/**
 * The shard changelog on a real broker: the one scripts/kafka/up.sh starts, unless
 * COELHO_KAFKA_BROKERS names another. Topic, group and application names are unique per run.
 * Waits are bounded and fail saying what was expected; nothing here asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { RetriableError, ValidationError } from "../../runtime/errors.ts";
import {
  ChangelogFencedError,
  createKafkaChangelog,
  createWorkerKafkaChangelog,
  type KafkaChangelogOptions,
  type KafkaLog,
  openKafkaLog,
} from "../../runtime/log/kafka/index.ts";
import { packBytes, packStrings } from "../../runtime/packed-strings.ts";
import type { ShardChangelog, SourcePosition } from "../../runtime/shard/changelog.ts";
import type { JournalAppend, JournalEntry } from "../../runtime/shard/entity-model.ts";
import { brokerList } from "../support/kafka-broker.ts";
import { recordingLogger } from "../support/recording-logger.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

setDefaultTimeout(90_000);

let brokers: string[] = [];
let log: KafkaLog;
let seq = 0;
const scratch = mkdtempSync(join(tmpdir(), "coelho-changelog-"));

/** Log lines, kept for a failing test's message instead of cluttering the output. */
const { logger: testLogger, lines: logLines } = recordingLogger();

/** Polls `check` until it holds; fails naming `what` and the last state `describe` gives. */
async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  describe: () => string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; state: ${describe()}; log: ${logLines.slice(-5).join(" / ")}`,
      );
    }
    await Bun.sleep(100);
  }
}

/** A fresh use case: its input topic (2 partitions) and the options of its changelog. */
async function useCase(what: string): Promise<KafkaChangelogOptions> {
  seq += 1;
  const inputTopic = `test.${RUN}.${what}.${seq}.events`;
  await log.ensureTopic({ name: inputTopic, partitions: 2 });
  return {
    appId: `test-${RUN}`,
    usecase: `${what}${seq}`,
    inputTopic,
    group: `test-${RUN}-${what}-${seq}`,
    logger: testLogger,
  };
}

const utf8 = { encoder: new TextEncoder(), decoder: new TextDecoder() };

/**
 * The changelog under test, taking text states (published as their UTF-8 bytes) so that tests
 * read as data; anything else is passed on as it is, for the changelog to refuse.
 */
type WithTextStates<C> = Omit<C, "publish"> & {
  publish(
    partition: number,
    states: Iterable<[string, unknown]>,
    at: SourcePosition[],
    journal?: JournalAppend | null,
  ): Promise<void>;
};
function withTextStates<C extends ShardChangelog>(changelog: C): WithTextStates<C> {
  const publish = (
    partition: number,
    states: Iterable<[string, unknown]>,
    at: SourcePosition[],
    journal?: JournalAppend | null,
  ) =>
    changelog.publish(
      partition,
      [...states].map(
        ([key, state]) =>
          [key, typeof state === "string" ? utf8.encoder.encode(state) : state] as [
            string,
            Uint8Array,
          ],
      ),
      at,
      journal,
    );
  return new Proxy(changelog as WithTextStates<C>, {
    get(target, property) {
      if (property === "publish") return publish;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
const kafkaChangelog = (...args: Parameters<typeof createKafkaChangelog>) =>
  withTextStates(createKafkaChangelog(...args));
const workerKafkaChangelog = (...args: Parameters<typeof createWorkerKafkaChangelog>) =>
  withTextStates(createWorkerKafkaChangelog(...args));

/** Restores a partition into a map (last state per key, as text) and the positions, sorted. */
async function restoreAll(changelog: Pick<ShardChangelog, "restore">, partition: number) {
  const states = new Map<string, string>();
  const positions = await changelog.restore(partition, (key, state) =>
    states.set(key, utf8.decoder.decode(state)),
  );
  positions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { states, positions };
}

function generation(count: number, gen: string): [string, string][] {
  // About 100 bytes per state, so 20k states are ~2 MB: several requests at the byte bound too.
  return Array.from({ length: count }, (_, i) => [`key-${i}`, `${gen}:${i}:${"x".repeat(80)}`]);
}

const inputPosition = (topic: string, nextOffset: number): SourcePosition => ({
  topic,
  partition: 0,
  nextOffset,
});

beforeAll(async () => {
  brokers = brokerList();
  log = await openKafkaLog({ brokers, clientId: `test-${RUN}`, logger: testLogger });
}, 300_000);

afterAll(async () => {
  await log?.close();
  rmSync(scratch, { recursive: true, force: true });
}, 120_000);

describe("publish, position and restore", () => {
  test("with several input topics, a publish commits the group on each, and position answers per topic", async () => {
    const options = await useCase("inputs");
    const labels = `${options.inputTopic}.labels`;
    await log.ensureTopic({ name: labels, partitions: 2 });
    const changelog = kafkaChangelog(log, {
      ...options,
      inputTopics: [options.inputTopic, labels],
    });
    try {
      await changelog.publish(
        0,
        [["card-1", "s"]],
        [inputPosition(options.inputTopic, 5), inputPosition(labels, 3)],
      );
      expect(await changelog.position(0)).toBe(5);
      expect(await changelog.position(0, labels)).toBe(3);
      expect(await log.committed(options.group, { topic: labels, partition: 0 })).toBe(3);
      // Every input's position must be in the checkpoint: one missing is refused, nothing written.
      await expect(
        changelog.publish(0, [["card-1", "t"]], [inputPosition(options.inputTopic, 6)]),
      ).rejects.toThrow(`has no position for ${labels}/0`);
      expect(await changelog.position(0)).toBe(5);
      await expect(changelog.position(0, "elsewhere")).rejects.toThrow(
        '"elsewhere" is not one of the input topics',
      );
      expect(() =>
        kafkaChangelog(log, { ...options, inputTopics: [labels, options.inputTopic] }),
      ).toThrow("starting with inputTopic");
    } finally {
      await changelog.close();
    }
  });

  test("restore returns the latest state per key and the positions; position is the input's", async () => {
    const options = await useCase("basic");
    const changelog = kafkaChangelog(log, options);
    try {
      const other = `test.${RUN}.labels`;
      expect(await changelog.position(0)).toBeNull();
      expect(await restoreAll(changelog, 0)).toEqual({ states: new Map(), positions: [] });

      await changelog.publish(
        0,
        [
          ["card-1", '{"n":1}'],
          ["card-2", '{"n":1}'],
          ["", "empty key"],
        ],
        [inputPosition(options.inputTopic, 10), { topic: other, partition: 3, nextOffset: 7 }],
      );
      await changelog.publish(0, new Map([["card-1", '{"n":2}']]).entries(), [
        inputPosition(options.inputTopic, 12),
        { topic: other, partition: 3, nextOffset: 9 },
      ]);

      const restored = await restoreAll(changelog, 0);
      expect(restored.states).toEqual(
        new Map([
          ["card-1", '{"n":2}'],
          ["card-2", '{"n":1}'],
          ["", "empty key"],
        ]),
      );
      expect(restored.positions).toEqual([
        inputPosition(options.inputTopic, 12),
        { topic: other, partition: 3, nextOffset: 9 },
      ]);
      expect(await changelog.position(0)).toBe(12);
      expect(await changelog.position(1)).toBeNull();
      expect(await restoreAll(changelog, 1)).toEqual({ states: new Map(), positions: [] });
      expect(await log.committed(options.group, { topic: options.inputTopic, partition: 0 })).toBe(
        12,
      );
    } finally {
      await changelog.close();
    }
  });

  test("the topic is compacted and has the input's partitions", async () => {
    const options = await useCase("topic");
    const changelog = kafkaChangelog(log, options);
    try {
      await changelog.publish(0, [["k", "v"]], [inputPosition(options.inputTopic, 1)]);
      expect(changelog.topic).toBe(`${options.appId}-${options.usecase}-changelog`);
      expect(await log.partitionCount(changelog.topic)).toBe(2);
      const admin = new Kafka({
        brokers,
        clientId: `test-${RUN}-admin`,
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: 2 /* TOPIC */, name: changelog.topic, configNames: ["cleanup.policy"] },
          ],
        });
        expect(resources[0]?.configEntries[0]?.configValue).toBe("compact");
      } finally {
        await admin.disconnect();
      }
    } finally {
      await changelog.close();
    }
  });

  test("bad input is a ValidationError and writes nothing", async () => {
    const options = await useCase("invalid");
    const changelog = kafkaChangelog(log, options);
    try {
      const position = [inputPosition(options.inputTopic, 1)];
      const nulKey = await changelog
        .publish(0, [["\u0000pos\u0000x", "1"]], position)
        .catch((e) => e);
      expect(nulKey).toBeInstanceOf(ValidationError);
      expect(String(nulKey.message)).toContain("starts with NUL");
      const noInput = await changelog
        .publish(0, [["k", "v"]], [{ topic: options.inputTopic, partition: 1, nextOffset: 1 }])
        .catch((e) => e);
      expect(noInput).toBeInstanceOf(ValidationError);
      expect(String(noInput.message)).toContain(`${options.inputTopic}/0`);
      const badPartition = await changelog.publish(5, [], position).catch((e) => e);
      expect(badPartition).toBeInstanceOf(ValidationError);
      expect(await changelog.position(0)).toBeNull();
      expect(await restoreAll(changelog, 0)).toEqual({ states: new Map(), positions: [] });
    } finally {
      await changelog.close();
    }
  });
});

describe("large and many publishes", () => {
  test("many publishes: restore yields the last value of every key", async () => {
    const options = await useCase("many");
    const changelog = kafkaChangelog(log, options);
    try {
      const expected = new Map<string, string>();
      let rng = 7;
      const random = () => {
        rng = (rng * 1103515245 + 12345) % 2 ** 31;
        return rng / 2 ** 31;
      };
      for (let round = 1; round <= 25; round += 1) {
        const changed: [string, string][] = [];
        for (let i = 0; i < 200; i += 1) {
          const key = `entity-${Math.floor(random() * 1000)}`;
          changed.push([key, `${key}@${round}.${i}`]);
          expected.set(key, `${key}@${round}.${i}`);
        }
        await changelog.publish(0, changed, [inputPosition(options.inputTopic, round * 100)]);
      }
      const restored = await restoreAll(changelog, 0);
      expect(restored.states).toEqual(expected);
      expect(restored.positions).toEqual([inputPosition(options.inputTopic, 2500)]);
      expect(await changelog.position(0)).toBe(2500);
    } finally {
      await changelog.close();
    }
  });

  test("a 20k-state publish goes in bounded requests; a restore meanwhile sees none of it", async () => {
    const options = await useCase("large");
    // Short stable wait: a restore that meets the open transaction soon reads up to its start.
    const changelog = kafkaChangelog(log, { ...options, stableWaitMs: 200 });
    const sends: { records: number; bytes: number }[] = [];
    /** Runs before each produce request of the changelog's transactions. */
    let beforeSend = async (): Promise<void> => undefined;
    const original = log.transactionalProducer.bind(log);
    log.transactionalProducer = (producerOptions) => {
      const producer = original(producerOptions);
      const begin = producer.transaction.bind(producer);
      producer.transaction = async () => {
        const transaction = await begin();
        const send = transaction.send.bind(transaction);
        transaction.send = async (record) => {
          await beforeSend();
          let bytes = 0;
          for (const m of record.messages) {
            bytes += (m.key as Buffer).length + (m.value as Buffer).length;
          }
          sends.push({ records: record.messages.length, bytes });
          return send(record);
        };
        return transaction;
      };
      return producer;
    };
    try {
      await changelog.publish(0, generation(20_000, "g1"), [inputPosition(options.inputTopic, 1)]);
      expect(sends.length).toBeGreaterThanOrEqual(4);
      expect(sends.reduce((n, s) => n + s.records, 0)).toBe(20_001);
      for (const s of sends) {
        expect(s.records).toBeLessThanOrEqual(5_000);
        expect(s.bytes).toBeLessThanOrEqual(512 * 1024);
      }

      // Half-way through the second publish, with its first requests written, restore.
      sends.length = 0;
      let during: Awaited<ReturnType<typeof restoreAll>> | null = null;
      beforeSend = async () => {
        if (sends.length === 2) during = await restoreAll(changelog, 0);
      };
      await changelog.publish(0, generation(20_000, "g2"), [inputPosition(options.inputTopic, 2)]);
      expect(sends.length).toBeGreaterThan(2);
      expect(during).not.toBeNull();
      const mid = during as unknown as Awaited<ReturnType<typeof restoreAll>>;
      expect(mid.states).toEqual(new Map(generation(20_000, "g1")));
      expect(mid.positions).toEqual([inputPosition(options.inputTopic, 1)]);

      const after = await restoreAll(changelog, 0);
      expect(after.states).toEqual(new Map(generation(20_000, "g2")));
      expect(after.positions).toEqual([inputPosition(options.inputTopic, 2)]);
      expect(await changelog.position(0)).toBe(2);
    } finally {
      log.transactionalProducer = original;
      await changelog.close();
    }
  });
});

/** A child process that publishes 20k states, stops after half the requests, and hangs. */
const CHILD = `
import { createKafkaChangelog, openKafkaLog } from ${JSON.stringify(`${REPO}runtime/log/kafka/index.ts`)};
const options = JSON.parse(process.env.CHANGELOG_OPTIONS);
const log = await openKafkaLog({ brokers: process.env.BROKERS.split(","), clientId: "crash-child" });
const original = log.transactionalProducer.bind(log);
log.transactionalProducer = (producerOptions) => {
  const producer = original(producerOptions);
  const begin = producer.transaction.bind(producer);
  producer.transaction = async () => {
    const transaction = await begin();
    const send = transaction.send.bind(transaction);
    let sends = 0;
    transaction.send = async (record) => {
      if (sends === 10) {
        process.stdout.write("sent\\n");
        await new Promise(() => setInterval(() => undefined, 1000));
      }
      sends += 1;
      return send(record);
    };
    return transaction;
  };
  return producer;
};
const changelog = createKafkaChangelog(log, { ...options, transactionTimeoutMs: 3000, chunkRecordsMax: 1000 });
const states = Array.from({ length: 20000 }, (_, i) => ["key-" + i, new TextEncoder().encode("crash:" + i)]);
await changelog.publish(0, states, [{ topic: options.inputTopic, partition: 0, nextOffset: 99 }]);
process.stdout.write("committed?!\\n");
`;

describe("crashes and fencing", () => {
  test("a publisher killed mid-transaction leaves nothing visible, and the broker aborts it", async () => {
    const options = await useCase("crash");
    const first = kafkaChangelog(log, options);
    await first.publish(0, generation(10, "g1"), [inputPosition(options.inputTopic, 5)]);
    await first.close();

    const script = join(scratch, "crash-child.ts");
    writeFileSync(script, CHILD);
    const child = Bun.spawn(["bun", script], {
      cwd: REPO,
      env: {
        ...process.env,
        BROKERS: brokers.join(","),
        CHANGELOG_OPTIONS: JSON.stringify({ ...options, logger: undefined }),
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const observer = kafkaChangelog(log, { ...options, stableWaitMs: 500 });
    try {
      let out = "";
      const reader = child.stdout.getReader();
      const decoder = new TextDecoder();
      await waitFor(
        "the child to send half its transaction",
        async () => {
          const chunk = await Promise.race([reader.read(), Bun.sleep(1000).then(() => null)]);
          if (chunk && !chunk.done) out += decoder.decode(chunk.value);
          return out.includes("sent") || child.exitCode !== null;
        },
        () => `stdout ${JSON.stringify(out)}, exit ${child.exitCode}`,
        30_000,
      );
      expect(out).toBe("sent\n");
      child.kill("SIGKILL");
      await child.exited;

      // Its 10k records are in the log, in a transaction nobody will commit.
      const open = await log.offsets(observer.topic, 0);
      expect(open.end - open.stableEnd).toBeGreaterThanOrEqual(10_000);
      const uncommitted = await log.read(observer.topic, 0, 0, 30_000, {
        isolation: "read_uncommitted",
      });
      expect(uncommitted.length).toBeGreaterThanOrEqual(10_010);
      const committed = await log.read(observer.topic, 0, 0, 30_000);
      expect(committed.length).toBe(11);

      // A restore now neither waits for it for ever nor shows any of it.
      const during = await restoreAll(observer, 0);
      expect(during.states).toEqual(new Map(generation(10, "g1")));
      expect(during.positions).toEqual([inputPosition(options.inputTopic, 5)]);
      expect(await observer.position(0)).toBe(5);

      // The broker aborts it once its 3 s timeout passes (checked every few seconds).
      let last = open;
      await waitFor(
        "the broker to abort the dead transaction",
        async () => {
          last = await log.offsets(observer.topic, 0);
          return last.stableEnd === last.end;
        },
        () => JSON.stringify(last),
        45_000,
      );
      const after = await restoreAll(observer, 0);
      expect(after.states).toEqual(new Map(generation(10, "g1")));
      expect(after.positions).toEqual([inputPosition(options.inputTopic, 5)]);
      expect(await observer.position(0)).toBe(5);

      // A new owner goes on from there.
      await observer.publish(0, [["key-0", "g3"]], [inputPosition(options.inputTopic, 6)]);
      expect((await restoreAll(observer, 0)).states.get("key-0")).toBe("g3");
      expect(await observer.position(0)).toBe(6);
    } finally {
      child.kill("SIGKILL");
      await observer.close();
    }
  });

  test("a new owner fences the previous one, whose publishes then fail for good", async () => {
    const options = await useCase("fence");
    const old = kafkaChangelog(log, options);
    const owner = kafkaChangelog(log, options);
    const third = kafkaChangelog(log, options);
    try {
      await old.publish(
        0,
        [
          ["a", "old-1"],
          ["b", "old-1"],
        ],
        [inputPosition(options.inputTopic, 10)],
      );
      await owner.publish(0, [["a", "new-1"]], [inputPosition(options.inputTopic, 20)]);

      const fenced = await old
        .publish(
          0,
          [
            ["a", "old-2"],
            ["c", "old-2"],
          ],
          [inputPosition(options.inputTopic, 30)],
        )
        .catch((e) => e);
      expect(fenced).toBeInstanceOf(ChangelogFencedError);
      expect(fenced).not.toBeInstanceOf(RetriableError);
      expect(fenced.code).toBe("changelog_fenced");
      expect(String(fenced.message)).toContain(old.transactionalId(0));
      // Fenced stays fenced: no new producer that would fence the owner back.
      const again = await old
        .publish(0, [["d", "old-3"]], [inputPosition(options.inputTopic, 40)])
        .catch((e) => e);
      expect(again).toBeInstanceOf(ChangelogFencedError);

      await owner.publish(0, [["b", "new-2"]], [inputPosition(options.inputTopic, 25)]);
      const restored = await restoreAll(owner, 0);
      expect(restored.states).toEqual(
        new Map([
          ["a", "new-1"],
          ["b", "new-2"],
        ]),
      );
      expect(restored.positions).toEqual([inputPosition(options.inputTopic, 25)]);
      expect(await owner.position(0)).toBe(25);

      // claim takes the id without publishing: the owner is fenced before any write of the third.
      await third.claim(0);
      const claimed = await owner
        .publish(0, [["a", "x"]], [inputPosition(options.inputTopic, 26)])
        .catch((e) => e);
      expect(claimed).toBeInstanceOf(ChangelogFencedError);
      expect(await third.position(0)).toBe(25);
      // Other partitions are not touched.
      await owner.publish(
        1,
        [["z", "p1"]],
        [{ topic: options.inputTopic, partition: 1, nextOffset: 3 }],
      );
      expect(await third.position(1)).toBe(3);
    } finally {
      await Promise.all([old.close(), owner.close(), third.close()]);
    }
  });
});

describe("written from a worker thread (what the platform runs)", () => {
  test("publishes what a restore on either thread reads back, atomically with the positions", async () => {
    const options = await useCase("worker");
    const changelog = workerKafkaChangelog(log, options);
    const onMain = kafkaChangelog(log, options);
    try {
      await changelog.claim(0);
      await changelog.publish(0, generation(20_000, "g1"), [inputPosition(options.inputTopic, 7)]);
      await changelog.publish(
        0,
        [
          ["key-3", "g2"],
          ["é ✓", "ü"],
        ],
        [inputPosition(options.inputTopic, 9)],
      );
      for (const reader of [changelog, onMain]) {
        const restored = await restoreAll(reader, 0);
        expect(restored.states.size).toBe(20_001);
        expect(restored.states.get("key-3")).toBe("g2");
        expect(restored.states.get("key-19999")).toBe(`g1:19999:${"x".repeat(80)}`);
        expect(restored.states.get("é ✓")).toBe("ü");
        expect(restored.positions).toEqual([inputPosition(options.inputTopic, 9)]);
        expect(await reader.position(0)).toBe(9);
      }
    } finally {
      await Promise.all([changelog.close(), onMain.close()]);
    }
  });

  test("the processor's journal goes with the states: split into records, trimmed, and read back whole by a restore on either thread", async () => {
    const options = await useCase("journal");
    const changelog = workerKafkaChangelog(log, options);
    const onMain = kafkaChangelog(log, options);
    const bytesOf = (n: number, fill: number) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 31 + fill) & 0xff);
    const entries = async (reader: Pick<ShardChangelog, "restore">) => {
      const read: JournalEntry[] = [];
      const states = new Map<string, string>();
      await reader.restore(
        0,
        (key, state) => states.set(key, utf8.decoder.decode(state)),
        (entry) => read.push({ seq: entry.seq, bytes: Uint8Array.from(entry.bytes) }),
      );
      return { read, states };
    };
    const one = bytesOf(100, 1);
    const big = bytesOf(2_100_000, 2); // three records
    const three = bytesOf(10, 3);
    try {
      await changelog.claim(0);
      const at = (n: number) => [inputPosition(options.inputTopic, n)];
      await changelog.publish(0, [["card-1", "a"]], at(1), {
        seq: 1,
        bytes: one,
        keepFrom: 1,
        dropped: [],
      });
      await changelog.publish(0, [], at(2), { seq: 2, bytes: big, keepFrom: 1, dropped: [] });
      await changelog.publish(0, [["card-2", "b"]], at(3), {
        seq: 3,
        bytes: three,
        keepFrom: 2,
        dropped: [{ seq: 1, bytes: one.length }],
      });
      for (const reader of [changelog, onMain]) {
        const { read, states } = await entries(reader);
        expect(read).toEqual([
          { seq: 2, bytes: big },
          { seq: 3, bytes: three },
        ]);
        // Journal records are not entity states, for a restore that reads states only too.
        expect(states).toEqual(
          new Map([
            ["card-1", "a"],
            ["card-2", "b"],
          ]),
        );
        expect((await restoreAll(reader, 0)).states.size).toBe(2);
      }
      // A snapshot: everything before it goes, the three records of the big one included.
      const four = bytesOf(50, 4);
      await changelog.publish(0, [], at(4), {
        seq: 4,
        bytes: four,
        keepFrom: 4,
        dropped: [
          { seq: 2, bytes: big.length },
          { seq: 3, bytes: three.length },
        ],
      });
      expect((await entries(onMain)).read).toEqual([{ seq: 4, bytes: four }]);
      // A publish with no journal leaves it as it was.
      await changelog.publish(0, [["card-3", "c"]], at(5));
      expect((await entries(onMain)).read).toEqual([{ seq: 4, bytes: four }]);
      // An append that would drop itself is refused, and writes nothing.
      await expect(
        changelog.publish(0, [["card-4", "d"]], at(6), {
          seq: 5,
          bytes: one,
          keepFrom: 6,
          dropped: [],
        }),
      ).rejects.toThrow("journal.keepFrom");
      expect(await onMain.position(0)).toBe(5);
    } finally {
      await Promise.all([changelog.close(), onMain.close()]);
    }
  });

  test("errors come back as the class the shard and supervisor act on", async () => {
    const options = await useCase("workererr");
    const changelog = workerKafkaChangelog(log, options);
    const newOwner = kafkaChangelog(log, options);
    try {
      const badPosition = await changelog
        .publish(0, [["k", "v"]], [{ topic: options.inputTopic, partition: 1, nextOffset: 1 }])
        .catch((e) => e);
      expect(badPosition).toBeInstanceOf(ValidationError);
      expect(badPosition.path).toBe("positions");
      const notAString = await changelog
        .publish(0, [["k", 3 as unknown as string]], [inputPosition(options.inputTopic, 1)])
        .catch((e) => e);
      expect(notAString).toBeInstanceOf(ValidationError);
      expect(String(notAString.message)).toContain("states[0]");
      // Packed by the shard, checked by the worker: a key the changelog reserves is still refused.
      const reserved = await changelog
        .publishPacked(
          0,
          packStrings(["ok", "\u0000pos\u0000x"]),
          packBytes([utf8.encoder.encode("1"), utf8.encoder.encode("2")]),
          [inputPosition(options.inputTopic, 1)],
        )
        .catch((e) => e);
      expect(reserved).toBeInstanceOf(ValidationError);
      expect(String(reserved.message)).toContain("states[1]");

      await changelog.publish(0, [["a", "1"]], [inputPosition(options.inputTopic, 1)]);
      await newOwner.claim(0);
      const fenced = await changelog
        .publish(0, [["a", "2"]], [inputPosition(options.inputTopic, 2)])
        .catch((e) => e);
      expect(fenced).toBeInstanceOf(ChangelogFencedError);
      expect(fenced.partition).toBe(0);
      expect((await restoreAll(newOwner, 0)).states).toEqual(new Map([["a", "1"]]));
    } finally {
      await Promise.all([changelog.close(), newOwner.close()]);
    }
    const closed = await changelog
      .publish(0, [["a", "3"]], [inputPosition(options.inputTopic, 3)])
      .catch((e) => e);
    expect(closed.code).toBe("changelog_closed");
  });
});
