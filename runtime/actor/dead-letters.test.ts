import { describe, expect, test } from "bun:test";
import { deadLetters } from "../metrics.ts";
import { type DeadLetter, DeadLetterSink } from "./dead-letters.ts";

function letter(i: number, reason = "failure"): DeadLetter {
  return { actor: "a", kind: "dl-test", reason, message: i, atMs: i };
}

async function counted(kind: string, reason: string): Promise<number> {
  const { values } = await deadLetters.get();
  return values.find((v) => v.labels.kind === kind && v.labels.reason === reason)?.value ?? 0;
}

describe("DeadLetterSink", () => {
  test("keeps only the most recent entries, oldest first", () => {
    const sink = new DeadLetterSink(1000);
    for (let i = 0; i < 1500; i++) sink.publish(letter(i));
    const kept = sink.recent();
    expect(kept).toHaveLength(1000);
    expect(kept[0]?.message).toBe(500);
    expect(kept.at(-1)?.message).toBe(1499);
    expect(sink.recent(3).map((d) => d.message)).toEqual([1497, 1498, 1499]);
  });

  test("hands every entry to subscribers until they unsubscribe", () => {
    const sink = new DeadLetterSink(10);
    const seen: unknown[] = [];
    const off = sink.subscribe((d) => seen.push(d.message));
    sink.publish(letter(1));
    off();
    sink.publish(letter(2));
    expect(seen).toEqual([1]);
  });

  test("a subscriber that throws does not stop the others", () => {
    const sink = new DeadLetterSink(10);
    const seen: unknown[] = [];
    sink.subscribe(() => {
      throw new Error("broken listener");
    });
    sink.subscribe((d) => seen.push(d.message));
    sink.publish(letter(7));
    expect(seen).toEqual([7]);
  });

  test("counts entries in coelho_dead_letters_total by kind and reason", async () => {
    const sink = new DeadLetterSink(5);
    const before = await counted("dl-test", "mailbox_full");
    for (let i = 0; i < 12; i++) sink.publish(letter(i, "mailbox_full"));
    expect(await counted("dl-test", "mailbox_full")).toBe(before + 12);
  });
});
