import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ValidationError } from "../../runtime/errors.ts";
import { trainGbt } from "../trainers/gbt.ts";
import { trainLogistic } from "../trainers/logistic.ts";
import { syntheticBinary } from "../trainers/synthetic.ts";
import { exportOnnx } from "./export.ts";
import { META } from "./metadata.ts";
import { readModelInfo } from "./model-info.ts";
import { encodeGraph, encodeModel } from "./onnx-proto.ts";
import { loadOnnx, OnnxModelError, type OnnxScorer, releaseOnnx, scoreBatch } from "./session.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const ds = syntheticBinary({ rows: 3_000, cols: 8, seed: 1 });
const schema = { featureNames: ds.featureNames };
// A small model keeps the exhaustive damage sweeps below quick.
const gbtBytes = exportOnnx(trainGbt(ds, { rounds: 3, maxDepth: 2 }), {
  metadata: { "training.rows": "3000" },
});
const logisticBytes = exportOnnx(trainLogistic(ds));
const opened: OnnxScorer[] = [];

afterAll(async () => {
  for (const s of opened) await releaseOnnx(s);
});

async function rejection(
  bytes: Uint8Array,
  featureNames = ds.featureNames,
): Promise<OnnxModelError> {
  const outcome = await loadOnnx(bytes, { featureNames }).then(
    (s) => {
      opened.push(s);
      return null;
    },
    (e: unknown) => e,
  );
  if (!(outcome instanceof OnnxModelError)) throw new Error(`expected a rejection, got ${outcome}`);
  return outcome;
}

describe("loadOnnx", () => {
  test("loads an exported model and describes its contract", async () => {
    const scorer = await loadOnnx(gbtBytes, schema);
    opened.push(scorer);
    expect(scorer.kind).toBe("gbt");
    expect(scorer.task).toBe("binary");
    expect(scorer.outputName).toBe("probability");
    expect(scorer.cols).toBe(8);
    expect(scorer.metadata.get("training.rows")).toBe("3000");
    expect(readModelInfo(gbtBytes).producerName).toBe("coelho-realtime");
    const p = await scoreBatch(scorer, new Float32Array(16).fill(0.5), 2, 8);
    expect(p.length).toBe(2);
    expect(p[0]).toBeGreaterThan(0);
    expect(p[0]).toBeLessThan(1);
  });

  test("rejects every single flipped byte and every truncation, with a reason", async () => {
    for (const bytes of [gbtBytes, logisticBytes]) {
      const reasons = new Set<string>();
      for (let i = 0; i < bytes.length; i++) {
        const damaged = bytes.slice();
        damaged[i] = (damaged[i] as number) ^ 0xff;
        reasons.add((await rejection(damaged)).reason);
      }
      // A flip inside the graph (weights, thresholds, structure) or metadata fails the checksum.
      expect(reasons).toContain("checksum");
      for (let length = 0; length < bytes.length; length++) {
        const e = await rejection(bytes.slice(0, length));
        expect(["format", "metadata"]).toContain(e.reason);
      }
    }
  });

  test("a damaged file's error says what is wrong", async () => {
    const e = await rejection(gbtBytes.slice(0, 100));
    expect(e.message).toMatch(/^ONNX model rejected \(format\): the 100 bytes are not an ONNX/);
    const { graph } = readModelInfo(gbtBytes);
    const flipped = gbtBytes.slice();
    const middle = graph.byteOffset + Math.floor(graph.length / 2);
    flipped[middle] = (flipped[middle] as number) ^ 1;
    expect((await rejection(flipped)).message).toContain("SHA-256 of its graph and metadata");
  });

  test("rejects a model whose features differ from the schema, naming the difference", async () => {
    const renamed = ds.featureNames.map((f) => (f === "f3" ? "amount" : f));
    const e = await rejection(gbtBytes, renamed);
    expect(e.reason).toBe("schema");
    expect(e.message).toContain("missing from the model: amount");
    expect(e.message).toContain("not in the schema: f3");
    const swapped = [...ds.featureNames];
    [swapped[0], swapped[1]] = [swapped[1] as string, swapped[0] as string];
    expect((await rejection(gbtBytes, swapped)).message).toContain(
      'another order; first difference at column 0: "f0" vs "f1"',
    );
    expect((await rejection(logisticBytes, ds.featureNames.slice(1))).reason).toBe("schema");
  });

  test("rejects a model whose test inference is not finite", async () => {
    const broken = { ...trainLogistic(ds), bias: Number.NaN };
    const e = await rejection(exportOnnx(broken));
    expect(e.reason).toBe("inference");
    expect(e.message).toContain("a row of zeros scored [NaN]");
  });

  test("rejects a valid ONNX model that was not exported here", async () => {
    const graph = encodeGraph({
      name: "identity",
      nodes: [{ opType: "Identity", name: "id", inputs: ["features"], outputs: ["probability"] }],
      initializers: [],
      inputs: [{ name: "features", elemType: "float", shape: ["N", 1] }],
      outputs: [{ name: "probability", elemType: "float", shape: ["N", 1] }],
    });
    const foreign = encodeModel(
      {
        irVersion: 8,
        opsets: [{ domain: "", version: 17 }],
        producerName: "elsewhere",
        producerVersion: "1",
        metadata: {},
      },
      graph,
    );
    const e = await rejection(foreign, ["x"]);
    expect(e.reason).toBe("metadata");
    expect(e.message).toContain(META.checksum);
  });
});

describe("scoreBatch and exportOnnx arguments", () => {
  test("scoreBatch checks the row shape", async () => {
    const scorer = await loadOnnx(logisticBytes, schema);
    opened.push(scorer);
    await expect(scoreBatch(scorer, new Float32Array(8), 1, 7)).rejects.toThrow("takes 8 features");
    await expect(scoreBatch(scorer, new Float32Array(8), 2, 8)).rejects.toThrow("need 16 values");
    // A longer buffer is fine: only the first n rows are read.
    expect((await scoreBatch(scorer, new Float32Array(24), 2, 8)).length).toBe(2);
  });

  test("exporter metadata keys are reserved", () => {
    expect(() => exportOnnx(trainLogistic(ds), { metadata: { [META.kind]: "x" } })).toThrow(
      ValidationError,
    );
  });
});
