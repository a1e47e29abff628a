import { describe, expect, test } from "bun:test";
import { trainGbt } from "../trainers/gbt.ts";
import { syntheticBinary } from "../trainers/synthetic.ts";
import { exportOnnx } from "./export.ts";
import { loadOnnx, OnnxModelError, releaseOnnx, scoreBatch } from "./session.ts";
import { loadOnnxInWorker } from "./worker-scorer.ts";

const ds = syntheticBinary({ rows: 3_000, cols: 8, seed: 1 });
const schema = { featureNames: ds.featureNames };
const bytes = exportOnnx(trainGbt(ds, { rounds: 20, maxDepth: 4 }));
const rows = Float32Array.from(syntheticBinary({ rows: 1_000, cols: 8, seed: 2 }).x);

describe("loadOnnxInWorker", () => {
  test("scores exactly what the model scores on the main thread, batch after batch", async () => {
    const local = await loadOnnx(bytes, schema);
    const remote = await loadOnnxInWorker(bytes, schema);
    expect(remote.kind).toBe("gbt");
    expect(remote.cols).toBe(8);
    expect(remote.outputName).toBe(local.outputName);
    const expected = await scoreBatch(local, rows, 1_000, 8);
    // Concurrent batches each get their own answers back.
    const parts = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        scoreBatch(remote, rows.subarray(i * 2_000, (i + 1) * 2_000), 250, 8),
      ),
    );
    const got = new Float32Array(1_000);
    for (const [i, part] of parts.entries()) got.set(part, i * 250);
    expect(Array.from(got)).toEqual(Array.from(expected));
    // The caller's rows are untouched (the worker got a copy).
    expect(rows[0]).toBe(
      Float32Array.from(syntheticBinary({ rows: 1, cols: 8, seed: 2 }).x)[0] as number,
    );
    await releaseOnnx(local);
    await releaseOnnx(remote);
    expect(scoreBatch(remote, rows, 1, 8)).rejects.toThrow("released");
  });

  test("a damaged or mismatched model is refused with the same reasons as loadOnnx", async () => {
    const damaged = bytes.slice();
    const at = Math.floor(damaged.length / 2);
    damaged[at] = (damaged[at] as number) ^ 0xff;
    const refused = await loadOnnxInWorker(damaged, schema).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OnnxModelError);
    const other = await loadOnnxInWorker(bytes, {
      featureNames: ds.featureNames.map((f) => `${f}_x`),
    }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(OnnxModelError);
    expect((other as OnnxModelError).reason).toBe("schema");
    expect((other as OnnxModelError).message).toContain("its features differ");
  });
});
