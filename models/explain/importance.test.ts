/**
 * Feature importance as version metrics: on rows whose label depends on two features only, the
 * model's importance names those two (the stronger first) and leaves the noise near zero; one-hot
 * columns count as their categorical; the positives' figures are their own.
 */
import { describe, expect, test } from "bun:test";
import { exportOnnx } from "../onnx/export.ts";
import { METRIC_NAME_PATTERN } from "../registry/types.ts";
import type { Dataset } from "../trainers/dataset.ts";
import { trainGbt } from "../trainers/gbt.ts";
import { trainLogistic } from "../trainers/logistic.ts";
import { seededRandom } from "../trainers/rng.ts";
import { featureOfColumn, importanceMetrics, topFeatures } from "./importance.ts";

/** y = 1 mostly when `strong` is high, a little when `weak` is; `noise_*` mean nothing. */
function world(rows: number, seed: number): Dataset {
  const names = ["strong", "weak", "noise_a", "noise_b", "noise_c", "noise_d"];
  const random = seededRandom(seed);
  const x = new Float64Array(rows * names.length);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < names.length; c++) x[r * names.length + c] = random() * 2 - 1;
    const logit = 4 * (x[r * names.length] as number) + 1 * (x[r * names.length + 1] as number);
    y[r] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { featureNames: names, rows, cols: names.length, x, y };
}

describe("importanceMetrics", () => {
  const train = world(8000, 1);
  const heldOut = world(3000, 2);

  test("a GBT relies on the features the label depends on, the stronger first", () => {
    const model = trainGbt(train, { rounds: 60, maxDepth: 4, seed: 1 });
    const metrics = importanceMetrics(
      exportOnnx(model),
      train.featureNames,
      heldOut.x,
      heldOut.y,
      heldOut.rows,
    );
    for (const name of Object.keys(metrics)) expect(name).toMatch(METRIC_NAME_PATTERN);
    const of = (feature: string) => metrics[`importance.${feature}`] as number;
    expect(of("strong")).toBeGreaterThan(3 * of("weak"));
    for (const noise of ["noise_a", "noise_b", "noise_c", "noise_d"]) {
      expect(of("weak")).toBeGreaterThan(2 * of(noise));
    }
    expect(Object.keys(metrics).filter((n) => n.startsWith("importance.positive."))).toHaveLength(
      6,
    );
    expect(topFeatures(metrics, 2).map((f) => f.feature)).toEqual(["strong", "weak"]);
  });

  test("one-hot columns are one feature: their contributions are summed per row", () => {
    // A categorical "colour" as three one-hot columns; only red matters.
    const random = seededRandom(3);
    const names = ["amount", "colour=red", "colour=green", "colour=blue"];
    const rows = 4000;
    const x = new Float64Array(rows * names.length);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const colour = Math.floor(random() * 3);
      x[r * 4] = random();
      x[r * 4 + 1 + colour] = 1;
      y[r] = random() < (colour === 0 ? 0.7 : 0.1) ? 1 : 0;
    }
    const data: Dataset = { featureNames: names, rows, cols: 4, x, y };
    const model = trainLogistic(data);
    const metrics = importanceMetrics(exportOnnx(model), names, x, y, rows);
    expect(Object.keys(metrics).sort()).toEqual([
      "importance.amount",
      "importance.colour",
      "importance.positive.amount",
      "importance.positive.colour",
    ]);
    expect(metrics["importance.colour"] as number).toBeGreaterThan(
      5 * (metrics["importance.amount"] as number),
    );
    expect(featureOfColumn("colour=red")).toBe("colour");
    expect(featureOfColumn("amount")).toBe("amount");
  });

  test("no positive rows: only the figures over all rows", () => {
    const model = trainGbt(train, { rounds: 10, maxDepth: 3, seed: 1 });
    const none = new Float64Array(heldOut.rows);
    const metrics = importanceMetrics(exportOnnx(model), train.featureNames, heldOut.x, none, 500);
    expect(Object.keys(metrics)).toHaveLength(6);
    expect(topFeatures(metrics, 1).map((f) => f.feature)).toEqual(["strong"]);
  });
});
