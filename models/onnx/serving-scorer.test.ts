import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-node";
import { trainGbt } from "../trainers/gbt.ts";
import { syntheticBinary } from "../trainers/synthetic.ts";
import { exportOnnx } from "./export.ts";
import { INPUT_NAME } from "./metadata.ts";
import { INLINE_ROWS_MAX_DEFAULT, loadOnnxForServing, SplitSession } from "./serving-scorer.ts";
import {
  loadOnnx,
  OnnxModelError,
  releaseOnnx,
  type ScoringSession,
  scoreBatch,
} from "./session.ts";

const ds = syntheticBinary({ rows: 3_000, cols: 8, seed: 1 });
const schema = { featureNames: ds.featureNames };
const bytes = exportOnnx(trainGbt(ds, { rounds: 20, maxDepth: 4 }));
const rows = Float32Array.from(syntheticBinary({ rows: 1_000, cols: 8, seed: 2 }).x);

/** A session that records the row counts it was asked to score, and may fail every run. */
function countingSession(
  failure?: Error,
): ScoringSession & { batches: number[]; released: boolean } {
  const session = {
    batches: [] as number[],
    released: false,
    run(feeds: Record<string, ort.Tensor>) {
      const n = feeds[INPUT_NAME]?.dims[0] as number;
      session.batches.push(n);
      if (failure) return Promise.reject(failure);
      return Promise.resolve({ probability: { data: new Float32Array(n) } });
    },
    async release() {
      session.released = true;
    },
  };
  return session;
}

function feedsOf(n: number): Record<string, ort.Tensor> {
  return { [INPUT_NAME]: new ort.Tensor("float32", new Float32Array(n * 8), [n, 8]) };
}

describe("loadOnnxForServing", () => {
  test("small batches and large ones score exactly what onnxruntime scores on one thread", async () => {
    const reference = await loadOnnx(bytes, schema);
    const serving = await loadOnnxForServing(bytes, schema, { inlineRowsMax: 32 });
    expect(serving.kind).toBe("gbt");
    expect(serving.outputName).toBe(reference.outputName);
    const expected = await scoreBatch(reference, rows, 1_000, 8);
    // 1 and 32 rows inline, 33 and 934 rows in the worker: every row as the reference scores it.
    const sizes = [1, 32, 33, 934];
    const got = new Float32Array(1_000);
    let at = 0;
    for (const n of sizes) {
      got.set(await scoreBatch(serving, rows.subarray(at * 8, (at + n) * 8), n, 8), at);
      at += n;
    }
    expect(Array.from(got)).toEqual(Array.from(expected));
    await releaseOnnx(reference);
    await releaseOnnx(serving);
    // Released: neither session scores any more.
    await expect(scoreBatch(serving, rows, 40, 8)).rejects.toThrow();
    await expect(scoreBatch(serving, rows, 1, 8)).rejects.toThrow();
  });

  test("with the default limit, small batches too score exactly what onnxruntime scores", async () => {
    const reference = await loadOnnx(bytes, schema);
    const serving = await loadOnnxForServing(bytes, schema);
    for (const n of [1, 3, 40]) {
      expect(Array.from(await scoreBatch(serving, rows, n, 8))).toEqual(
        Array.from(await scoreBatch(reference, rows, n, 8)),
      );
    }
    await releaseOnnx(reference);
    await releaseOnnx(serving);
  });

  test("a damaged or mismatched model is refused as loadOnnx refuses it", async () => {
    const damaged = bytes.slice();
    const at = Math.floor(damaged.length / 2);
    damaged[at] = (damaged[at] as number) ^ 0xff;
    expect(await loadOnnxForServing(damaged, schema).catch((e: unknown) => e)).toBeInstanceOf(
      OnnxModelError,
    );
    const other = await loadOnnxForServing(bytes, {
      featureNames: ds.featureNames.map((f) => `${f}_x`),
    }).catch((e: unknown) => e);
    expect((other as OnnxModelError).reason).toBe("schema");
  });

  test("an inline limit out of range is refused, naming it", async () => {
    for (const inlineRowsMax of [-1, 1.5, 257]) {
      await expect(loadOnnxForServing(bytes, schema, { inlineRowsMax })).rejects.toThrow(
        `inlineRowsMax: ${inlineRowsMax}; expected an integer in [0, 256]`,
      );
    }
  });
});

test("by default every batch goes to the worker, and one the worker fails is scored inline", async () => {
  const inline = countingSession();
  const worker = countingSession();
  const split = new SplitSession(inline, worker, INLINE_ROWS_MAX_DEFAULT);
  for (const n of [1, 5, 32]) await split.run(feedsOf(n));
  expect(worker.batches).toEqual([1, 5, 32]);
  expect(inline.batches).toEqual([]);
  const failing = new SplitSession(
    inline,
    countingSession(new Error("the scoring worker failed: gone")),
    INLINE_ROWS_MAX_DEFAULT,
  );
  await failing.run(feedsOf(3));
  expect(inline.batches).toEqual([3]);
});

describe("SplitSession", () => {
  test("sends batches up to the limit to the inline session and larger ones to the worker", async () => {
    const inline = countingSession();
    const worker = countingSession();
    const split = new SplitSession(inline, worker, 32);
    for (const n of [1, 5, 32, 33, 256]) await split.run(feedsOf(n));
    expect(inline.batches).toEqual([1, 5, 32]);
    expect(worker.batches).toEqual([33, 256]);
    await split.release();
    expect(inline.released && worker.released).toBe(true);
  });

  test("scores a large batch inline when the worker fails it, and a batch both refuse still fails", async () => {
    const inline = countingSession();
    const worker = countingSession(new Error("the scoring worker failed: gone"));
    const split = new SplitSession(inline, worker, 32);
    const out = await split.run(feedsOf(100));
    expect(out.probability?.data).toBeInstanceOf(Float32Array);
    expect((out.probability?.data as Float32Array | undefined)?.length).toBe(100);
    expect(worker.batches).toEqual([100]);
    expect(inline.batches).toEqual([100]);
    const refusing = new SplitSession(
      countingSession(new Error("invalid input")),
      countingSession(new Error("invalid input")),
      32,
    );
    await expect(refusing.run(feedsOf(100))).rejects.toThrow("invalid input");
  });
});
