/**
 * The newest dead letters of an input topic: `GET /api/v1/dead-letters/<topic>`. What a refused
 * event looked like and why it was refused, for whoever is told that events are being
 * dead-lettered (the `DeadLetterRateHigh` alert). In embedded mode the log is open in the
 * platform's process only, so without this nothing could read `<topic>.dlq` while it runs.
 *
 * Bounded: at most {@link DEAD_LETTERS_LISTED_MAX} letters, each value shown up to
 * {@link VALUE_SHOWN_BYTES_MAX} bytes (as UTF-8 text; invalid bytes show as U+FFFD). Like the
 * entity queries, it shows event data: keep the API where only operators reach it.
 */
import { Elysia, t } from "elysia";
import { DLQ_REASON_HEADER } from "../../../runtime/log/dead-letter.ts";
import { deadLetterTopic, type StoredRecord } from "../../../runtime/log/log.ts";
import type { Platform } from "../../platform.ts";
import { validationAnswer } from "../errors.ts";

/** Letters listed at most per request. */
export const DEAD_LETTERS_LISTED_MAX = 100;
const DEAD_LETTERS_LISTED_DEFAULT = 20;
/** Bytes of a letter's value shown; the rest is cut (`truncated: true`). */
const VALUE_SHOWN_BYTES_MAX = 4096;

const decoder = new TextDecoder();

/** One dead letter as the API shows it. */
function letterView(partition: number, record: StoredRecord) {
  const h = record.headers;
  const sourcePartition = Number(h["coelho.dlq.partition"]);
  const sourceOffset = Number(h["coelho.dlq.offset"]);
  return {
    partition,
    offset: record.offset,
    time: new Date(record.timestampMs).toISOString(),
    reason: h[DLQ_REASON_HEADER] ?? null,
    code: h["coelho.dlq.code"] ?? null,
    path: h["coelho.dlq.path"] ?? null,
    source: {
      topic: h["coelho.dlq.topic"] ?? null,
      partition: Number.isSafeInteger(sourcePartition) ? sourcePartition : null,
      offset: Number.isSafeInteger(sourceOffset) ? sourceOffset : null,
    },
    key: record.key === null ? null : decoder.decode(record.key),
    value: decoder.decode(record.value.subarray(0, VALUE_SHOWN_BYTES_MAX)),
    value_bytes: record.value.byteLength,
    truncated: record.value.byteLength > VALUE_SHOWN_BYTES_MAX,
  };
}

/** Each partition of `<topic>.dlq` with the offsets it holds now (what retention has kept). */
async function partitionRanges(
  platform: Platform,
  dlq: string,
): Promise<{ partition: number; start: number; end: number }[]> {
  const log = platform.log;
  const partitions = await log.partitionCount(dlq);
  return Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      const [start, end] = await Promise.all([
        log.startOffset(dlq, partition),
        log.endOffset(dlq, partition),
      ]);
      return { partition, start, end: Math.max(start, end) };
    }),
  );
}

function lettersIn(ranges: { start: number; end: number }[]): number {
  return ranges.reduce((sum, range) => sum + range.end - range.start, 0);
}

export function deadLetterRoutes(platform: Platform) {
  return new Elysia({ name: "dead-letters" })
    .get(
      "/api/v1/dead-letters",
      async () => ({
        topics: await Promise.all(
          platform.inputTopics().map(async (topic) => ({
            topic,
            usecase: platform.usecaseOfTopic(topic),
            dead_letter_topic: deadLetterTopic(topic),
            total: lettersIn(await partitionRanges(platform, deadLetterTopic(topic))),
          })),
        ),
      }),
      {
        detail: {
          summary: "Every input topic with the use case reading it and its dead letters' count",
          tags: ["platform"],
        },
      },
    )
    .get(
      "/api/v1/dead-letters/:topic",
      async ({ params, query, set }) => {
        const topics = platform.inputTopics();
        if (!topics.includes(params.topic)) {
          set.status = 404;
          return {
            error: `topic "${params.topic}" is not read by this platform; expected one of ${topics.join(", ")}`,
            code: "UNKNOWN_TOPIC",
          };
        }
        const limit = query.limit === undefined ? DEAD_LETTERS_LISTED_DEFAULT : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > DEAD_LETTERS_LISTED_MAX) {
          set.status = 422;
          return validationAnswer("query", [
            {
              path: "limit",
              expected: `an integer from 1 to ${DEAD_LETTERS_LISTED_MAX}, got ${JSON.stringify(query.limit)}`,
            },
          ]);
        }
        const dlq = deadLetterTopic(params.topic);
        const ranges = await partitionRanges(platform, dlq);
        const letters: ReturnType<typeof letterView>[] = [];
        for (const { partition, start, end } of ranges) {
          if (end <= start) continue;
          // Each partition's newest `limit`: the newest `limit` of the topic are among them.
          const from = Math.max(start, end - limit);
          const records = await platform.log.read(dlq, partition, from, limit);
          for (const record of records) letters.push(letterView(partition, record));
        }
        letters.sort((a, b) => b.time.localeCompare(a.time) || b.offset - a.offset);
        return {
          topic: params.topic,
          dead_letter_topic: dlq,
          /** Dead letters the topic holds (what retention has kept). */
          total: lettersIn(ranges),
          letters: letters.slice(0, limit),
        };
      },
      {
        params: t.Object({
          topic: t.String({
            description: `An input topic: ${platform.inputTopics().join(", ")}`,
            examples: platform.inputTopics(),
          }),
        }),
        query: t.Object({
          // Checked in the handler: t.Numeric's refusal does not name the parameter.
          limit: t.Optional(
            t.String({
              description: `Letters listed, newest first: an integer from 1 to ${DEAD_LETTERS_LISTED_MAX} (default ${DEAD_LETTERS_LISTED_DEFAULT})`,
              examples: ["20"],
            }),
          ),
        }),
        detail: {
          summary:
            "The newest dead letters of an input topic: each refused event, why, and where it was read",
          tags: ["platform"],
        },
      },
    );
}
