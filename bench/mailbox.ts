/**
 * Mailbox throughput: how many messages one actor moves per second, next to a bare loop.
 *
 * `bun bench/mailbox.ts` prints one line per figure. Honest by construction: only messages the
 * actor actually processed are counted, and the clock runs from the first `tell` to the moment
 * the last message was processed (taken inside `receive`). Producer and consumer share the one
 * thread, as they do in the platform, so the figure is end to end.
 */
import { type Actor, spawn } from "../runtime/actor/actor.ts";

const TELLS = 20_000_000;
const TELL_CAPACITY = 65_536;
const SENDS = 5_000_000;
const SEND_CAPACITY = 1_024;
const ASKS = 300_000;
const ASKS_IN_FLIGHT = 64;
const TELL_TARGET_PER_S = 5_000_000;

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The trivial receive every figure uses: count, and note when the last expected one arrives. */
function counting(expected: number) {
  const state = { processed: 0, sum: 0, endMs: 0 };
  const receive = (n: number): number => {
    state.sum += n;
    if (++state.processed === expected) state.endMs = performance.now();
    return n;
  };
  return { state, receive };
}

function actorFor(
  name: string,
  receive: (n: number) => number,
  capacity: number,
  overflow: "reject" | "backpressure",
): Actor<number, number> {
  return spawn<number, number>({
    name,
    kind: "bench",
    mailbox: { capacity, overflow },
    behavior: () => ({ receive }),
  });
}

/** Tells `total` messages, refilling the mailbox whenever the drain loop yields. */
async function tellThroughput(total: number): Promise<number> {
  const { state, receive } = counting(total);
  const actor = actorFor("bench-tell", receive, TELL_CAPACITY, "reject");
  await actor.start();
  const startMs = performance.now();
  let sent = 0;
  while (sent < total) {
    const room = Math.min(actor.capacity - actor.depth, total - sent);
    for (let i = 0; i < room; i++) actor.tell(1);
    sent += room;
    await macrotask();
  }
  while (state.processed < total) await macrotask();
  await actor.stop(1_000);
  return total / ((state.endMs - startMs) / 1000);
}

/** Calls the same receive over an array as many times, for the ratio. */
function bareLoopThroughput(total: number): number {
  const { state, receive } = counting(total);
  const items = new Array<number>(TELL_CAPACITY).fill(1);
  const startMs = performance.now();
  for (let done = 0; done < total; done += items.length) {
    const n = Math.min(items.length, total - done);
    for (let i = 0; i < n; i++) receive(items[i] as number);
  }
  if (state.processed !== total) throw new Error("bare loop miscounted");
  return total / ((state.endMs - startMs) / 1000);
}

/** Awaits each `send` into a small backpressured mailbox. */
async function sendThroughput(total: number): Promise<number> {
  const { state, receive } = counting(total);
  const actor = actorFor("bench-send", receive, SEND_CAPACITY, "backpressure");
  await actor.start();
  const startMs = performance.now();
  for (let i = 0; i < total; i++) await actor.send(1);
  while (state.processed < total) await macrotask();
  await actor.stop(1_000);
  return total / ((state.endMs - startMs) / 1000);
}

/**
 * Keeps the mailbox full: each round sends twice the capacity without awaiting, so half the
 * sends wait as pending senders and are admitted one by one as the actor frees slots.
 */
async function sendFullThroughput(total: number): Promise<number> {
  const { state, receive } = counting(total);
  const actor = actorFor("bench-send-full", receive, SEND_CAPACITY, "backpressure");
  await actor.start();
  const round = 2 * SEND_CAPACITY;
  const startMs = performance.now();
  for (let done = 0; done < total; done += round) {
    let last: Promise<void> | undefined;
    for (let i = 0; i < round && done + i < total; i++) last = actor.send(1);
    await last;
  }
  while (state.processed < total) await macrotask();
  await actor.stop(1_000);
  return total / ((state.endMs - startMs) / 1000);
}

/** Request/reply round trips with `inFlight` asks outstanding at a time. */
async function askThroughput(total: number, inFlight: number): Promise<number> {
  const { receive } = counting(total);
  const actor = actorFor("bench-ask", receive, Math.max(inFlight, 16), "reject");
  await actor.start();
  const startMs = performance.now();
  let replies = 0;
  for (let done = 0; done < total; done += inFlight) {
    const batch: Promise<number>[] = [];
    for (let i = 0; i < inFlight && done + i < total; i++) batch.push(actor.ask(1, 10_000));
    for (const reply of await Promise.all(batch)) replies += reply;
  }
  const elapsedS = (performance.now() - startMs) / 1000;
  await actor.stop(1_000);
  if (replies !== total) throw new Error(`ask: ${replies} replies for ${total} asks`);
  return total / elapsedS;
}

function rate(perS: number): string {
  if (perS >= 1e6) return `${(perS / 1e6).toFixed(1)}M`;
  return `${(perS / 1e3).toFixed(0)}k`;
}

// Warm the JIT on every path first so the measured runs compare steady states.
await tellThroughput(1_000_000);
bareLoopThroughput(1_000_000);
await sendThroughput(200_000);
await sendFullThroughput(200_000);
await askThroughput(20_000, 1);
await askThroughput(20_000, ASKS_IN_FLIGHT);

const tell = await tellThroughput(TELLS);
const bare = bareLoopThroughput(TELLS);
const verdict = tell >= TELL_TARGET_PER_S ? "" : " MISSED";
console.log(`mailbox.tell: ${rate(tell)} msg/s (target ≥ 5M)${verdict}`);
console.log(
  `mailbox.bare_loop: ${rate(bare)} calls/s (same receive over an array); tell is ${(tell / bare).toFixed(3)}× of it`,
);
const send = await sendThroughput(SENDS);
console.log(`mailbox.send: ${rate(send)} msg/s (each awaited, room available)`);
const sendFull = await sendFullThroughput(SENDS);
console.log(
  `mailbox.send: ${rate(sendFull)} msg/s (mailbox full, ${SEND_CAPACITY} senders waiting, capacity ${SEND_CAPACITY})`,
);
const askSequential = await askThroughput(ASKS, 1);
console.log(`mailbox.ask: ${rate(askSequential)} round trips/s (one at a time)`);
const askPipelined = await askThroughput(ASKS, ASKS_IN_FLIGHT);
console.log(`mailbox.ask: ${rate(askPipelined)} round trips/s (${ASKS_IN_FLIGHT} in flight)`);
