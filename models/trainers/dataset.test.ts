import { describe, expect, test } from "bun:test";
import { ValidationError } from "../../runtime/errors.ts";
import {
  type Dataset,
  selectRows,
  standardization,
  timeSplit,
  validateDataset,
} from "./dataset.ts";

function tiny(times: number[]): Dataset {
  const rows = times.length;
  return {
    featureNames: ["a", "b"],
    rows,
    cols: 2,
    x: Float64Array.from({ length: rows * 2 }, (_, i) => i),
    y: Float64Array.from({ length: rows }, (_, i) => i % 2),
    time: Float64Array.from(times),
  };
}

describe("timeSplit", () => {
  test("slices are consecutive in time, whatever the row order", () => {
    const times = [9, 3, 7, 1, 5, 8, 2, 10, 4, 6];
    const s = timeSplit(tiny(times), { train: 0.6, validation: 0.2, test: 0.2 });
    expect(Array.from(s.train.time ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(s.validation.time ?? [])).toEqual([7, 8]);
    expect(Array.from(s.test.time ?? [])).toEqual([9, 10]);
    expect(s.validationStartMs).toBe(7);
    expect(s.testStartMs).toBe(9);
    // Rows travel with their features and labels.
    const r = times.indexOf(7);
    expect(Array.from(s.validation.x.subarray(0, 2))).toEqual([2 * r, 2 * r + 1]);
    expect(s.validation.y[0]).toBe(r % 2);
  });

  test("a boundary never separates rows with the same time", () => {
    const s = timeSplit(tiny([1, 2, 3, 3, 3, 4, 5, 6, 7, 8]), {
      train: 0.3,
      validation: 0.3,
      test: 0.4,
    });
    expect(Array.from(s.train.time ?? [])).toEqual([1, 2, 3, 3, 3]);
    expect(s.validation.rows + s.test.rows).toBe(5);
  });

  test("needs event times and fractions that sum to 1", () => {
    const noTime = { ...tiny([1, 2]), time: undefined };
    expect(() => timeSplit(noTime, { train: 0.5, validation: 0.25, test: 0.25 })).toThrow(
      ValidationError,
    );
    expect(() => timeSplit(tiny([1, 2]), { train: 0.5, validation: 0.5, test: 0.5 })).toThrow(
      "sum to 1.5",
    );
  });
});

describe("standardization", () => {
  test("mean and population std per column, NaN ignored, constant column std 1", () => {
    const ds: Dataset = {
      featureNames: ["a", "b", "c"],
      rows: 3,
      cols: 3,
      x: Float64Array.from([1, 5, 2, 2, 5, Number.NaN, 3, 5, 4]),
      y: new Float64Array(3),
    };
    const { mean, std } = standardization(ds);
    expect(mean).toEqual([2, 5, 3]);
    expect(std[0]).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(std[1]).toBe(1);
    expect(std[2]).toBe(1);
  });
});

describe("validateDataset", () => {
  test("rejects infinities, naming the row and feature", () => {
    const ds = tiny([1, 2]);
    ds.x[3] = Number.POSITIVE_INFINITY;
    expect(() => validateDataset(ds)).toThrow('row 1, feature "b" is Infinity');
  });

  test("rejects duplicate feature names and wrong lengths", () => {
    expect(() => validateDataset({ ...tiny([1]), featureNames: ["a", "a"] })).toThrow("twice");
    expect(() => validateDataset({ ...tiny([1, 2]), y: new Float64Array(1) })).toThrow(
      "dataset.y: has length 1; expected 2",
    );
  });
});

describe("selectRows", () => {
  test("copies the chosen rows in the given order", () => {
    const s = selectRows(tiny([10, 20, 30]), [2, 0]);
    expect(Array.from(s.x)).toEqual([4, 5, 0, 1]);
    expect(Array.from(s.time ?? [])).toEqual([30, 10]);
  });
});
