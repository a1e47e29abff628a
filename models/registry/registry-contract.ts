/**
 * The contract every {@link ModelRegistry} backend passes: call {@link registryContract} from a
 * backend's test file with a factory, and it defines the bun:test cases. Each test uses its own
 * use-case names, so a backend on a shared server (MLflow) needs no cleanup between tests.
 */
import { describe, expect, test } from "bun:test";
import { ValidationError } from "../../runtime/errors.ts";
import { exportOnnx } from "../onnx/export.ts";
import { trainGbt } from "../trainers/gbt.ts";
import { trainLogistic } from "../trainers/logistic.ts";
import { syntheticBinary } from "../trainers/synthetic.ts";
import { ModelRejectedError, VersionNotFoundError } from "./errors.ts";
import type { ModelRegistry, NewModelVersion } from "./types.ts";

/** A registry under test, and how to open the same store again (a restart). */
export interface RegistryUnderTest {
  registry: ModelRegistry;
  /** Closes nothing: opens a second handle on the same store (the test closes the first). */
  reopen(): Promise<ModelRegistry>;
  /** Frees whatever the factory made (temp folders); called once per test. */
  cleanup?(): Promise<void>;
}

const data = syntheticBinary({ rows: 2_000, cols: 6, seed: 3 });
/** Small models of both kinds on the same six features (f0…f5). */
export const contractModels = {
  featureNames: data.featureNames,
  gbt: exportOnnx(trainGbt(data, { rounds: 5, maxDepth: 3 }), { metadata: { fixture: "gbt" } }),
  logistic: exportOnnx(trainLogistic(data), { metadata: { fixture: "logistic" } }),
};

/** A schema with more than names, as a use case's is (a variable: no excess-property check). */
const fixtureSchema = { names: contractModels.featureNames, version: 1, categories: { f4: ["a"] } };

let counter = 0;
/** A use-case name no other test (or earlier run against a shared server) has used. */
function freshUsecase(): string {
  counter++;
  return `c${Date.now().toString(36)}${process.pid.toString(36)}-${counter}`;
}

/** A valid version of `usecase`; override any field. */
export function newVersion(
  usecase: string,
  overrides: Partial<NewModelVersion> = {},
): NewModelVersion {
  return {
    usecase,
    kind: "gbt",
    onnx: contractModels.gbt,
    featureSchema: fixtureSchema,
    params: { rounds: 5, maxDepth: 3, nested: { list: [1, 2.5, "x", null, true] } },
    metrics: { "test.pr_auc": 0.8125, "test.roc_auc": 0.93, "validation/loss": 0.25 },
    trainingData: {
      fromMs: Date.UTC(2025, 0, 1),
      toMs: Date.UTC(2025, 1, 15),
      offsets: [
        { topic: "fraud.transactions", partition: 0, fromOffset: 0, toOffset: 1200 },
        { topic: "fraud.labels", partition: 0, fromOffset: 10, toOffset: 900 },
      ],
      source: "contract test",
    },
    threshold: 0.0425,
    costs: { reviewFeeUsd: 5, chargebackFeeUsd: 0 },
    description: "a contract-test model",
    ...overrides,
  };
}

async function rejected(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
}

/** Flips every bit of `count` bytes in the middle of a copy. */
function flipped(bytes: Uint8Array, count: number): Uint8Array {
  const out = bytes.slice();
  const start = Math.floor(out.length / 2);
  for (let i = start; i < start + count; i++) out[i] = (out[i] as number) ^ 0xff;
  return out;
}

/**
 * Defines the contract's test cases for one backend.
 *
 * @example
 * registryContract("sqlite", async () => {
 *   const dir = mkdtempSync(join(tmpdir(), "registry-"));
 *   const open = () => openSqliteRegistry({ dataDir: dir });
 *   return { registry: await open(), reopen: open, cleanup: async () => rmSync(dir, { recursive: true }) };
 * });
 */
export function registryContract(
  name: string,
  makeRegistry: () => Promise<RegistryUnderTest>,
): void {
  /** Runs `body` with a fresh registry, closing every handle and cleaning up afterwards. */
  const withRegistry = async (
    body: (r: ModelRegistry, under: RegistryUnderTest) => Promise<void>,
  ): Promise<void> => {
    const under = await makeRegistry();
    try {
      await body(under.registry, under);
    } finally {
      await under.registry.close();
      await under.cleanup?.();
    }
  };

  describe(`model registry contract: ${name}`, () => {
    test("register, get and list round-trip every field", () =>
      withRegistry(async (r) => {
        const usecase = freshUsecase();
        const input = newVersion(usecase);
        const before = Date.now();
        const v = await r.register(input);
        expect(v.version).toBe(1);
        expect(v.createdAtMs).toBeGreaterThanOrEqual(before - 1000);
        expect(v.onnxBytes).toBe(input.onnx.length);
        expect(v.onnxSha256).toMatch(/^[0-9a-f]{64}$/);
        const got = await r.get(usecase, 1);
        expect(got).not.toBeNull();
        expect(Buffer.from(got?.onnx ?? []).equals(Buffer.from(input.onnx))).toBe(true);
        for (const stored of [v, got]) {
          expect(stored?.kind).toBe("gbt");
          expect(stored?.featureSchema).toEqual(input.featureSchema as never);
          expect(stored?.params).toEqual(input.params as never);
          expect(stored?.metrics).toEqual(input.metrics as never);
          expect(stored?.trainingData).toEqual(input.trainingData);
          expect(stored?.threshold).toBe(input.threshold);
          expect(stored?.costs).toEqual(input.costs as never);
          expect(stored?.description).toBe(input.description);
        }
        const listed = await r.list(usecase);
        expect(listed).toHaveLength(1);
        expect("onnx" in (listed[0] ?? {})).toBe(false);
        expect(listed[0]?.metrics).toEqual(input.metrics as never);
        expect(await r.get(usecase, 2)).toBeNull();
        expect(await r.list(freshUsecase())).toEqual([]);
      }));

    test("version numbers count up per use case; list is newest first", () =>
      withRegistry(async (r) => {
        const a = freshUsecase();
        const b = freshUsecase();
        const numbers: number[] = [];
        for (let i = 0; i < 3; i++) {
          numbers.push((await r.register(newVersion(a, { description: `a${i}` }))).version);
        }
        const inB = await r.register(
          newVersion(b, { kind: "logistic", onnx: contractModels.logistic }),
        );
        expect(numbers).toEqual([1, 2, 3]);
        expect(inB.version).toBe(1);
        expect(inB.kind).toBe("logistic");
        const listed = await r.list(a);
        expect(listed.map((v) => v.version)).toEqual([3, 2, 1]);
        expect(listed.map((v) => v.description)).toEqual(["a2", "a1", "a0"]);
        expect((await r.list(a, { limit: 2 })).map((v) => v.version)).toEqual([3, 2]);
        expect(await rejected(r.list(a, { limit: 0 }))).toBeInstanceOf(ValidationError);
      }));

    test("aliases: set, move, read, delete; never to a missing version", () =>
      withRegistry(async (r) => {
        const usecase = freshUsecase();
        await r.register(newVersion(usecase));
        await r.register(newVersion(usecase));
        expect(await r.alias(usecase, "champion")).toBeNull();
        expect(await r.aliases(usecase)).toEqual([]);
        const set = await r.setAlias(usecase, "champion", 1);
        expect(set).toMatchObject({ alias: "champion", version: 1 });
        await r.setAlias(usecase, "challenger", 2);
        expect((await r.alias(usecase, "champion"))?.version).toBe(1);
        expect((await r.aliases(usecase)).map((a) => [a.alias, a.version])).toEqual([
          ["challenger", 2],
          ["champion", 1],
        ]);
        // Promotion, then rollback.
        await r.setAlias(usecase, "champion", 2);
        expect((await r.alias(usecase, "champion"))?.version).toBe(2);
        await r.setAlias(usecase, "champion", 1);
        expect((await r.alias(usecase, "champion"))?.version).toBe(1);
        const missing = await rejected(r.setAlias(usecase, "champion", 9));
        expect(missing).toBeInstanceOf(VersionNotFoundError);
        expect((missing as Error).message).toContain("expected 1 to 2");
        expect(await rejected(r.setAlias(freshUsecase(), "champion", 1))).toBeInstanceOf(
          VersionNotFoundError,
        );
        expect((await r.alias(usecase, "champion"))?.version).toBe(1);
        expect(await r.deleteAlias(usecase, "challenger")).toBe(true);
        expect(await r.deleteAlias(usecase, "challenger")).toBe(false);
        expect(await r.alias(usecase, "challenger")).toBeNull();
        expect(await rejected(r.setAlias(usecase, "canary" as "champion", 1))).toBeInstanceOf(
          ValidationError,
        );
      }));

    test("champion terms: every move of the champion to another version, newest first", () =>
      withRegistry(async (r, under) => {
        const usecase = freshUsecase();
        for (let i = 0; i < 3; i++) await r.register(newVersion(usecase));
        expect(await r.championTerms(usecase)).toEqual([]);
        const first = await r.setAlias(usecase, "champion", 1);
        await Bun.sleep(2);
        await r.setAlias(usecase, "challenger", 2);
        await r.setAlias(usecase, "champion", 1); // not a move: the same term goes on
        await Bun.sleep(2);
        const promoted = await r.setAlias(usecase, "champion", 2);
        await Bun.sleep(2);
        const rolledBack = await r.setAlias(usecase, "champion", 1);
        const terms = await r.championTerms(usecase);
        expect(terms.map((t) => t.version)).toEqual([1, 2, 1]);
        expect(terms[0]?.fromMs).toBeGreaterThanOrEqual(promoted.setAtMs);
        expect(terms[0]?.fromMs).toBeLessThanOrEqual(rolledBack.setAtMs);
        expect(terms[2]?.fromMs).toBeLessThanOrEqual(first.setAtMs);
        expect((await r.championTerms(usecase, { limit: 1 })).map((t) => t.version)).toEqual([1]);
        expect(await rejected(r.championTerms(usecase, { limit: 0 }))).toBeInstanceOf(
          ValidationError,
        );
        const reopened = await under.reopen();
        try {
          expect((await reopened.championTerms(usecase)).map((t) => t.version)).toEqual([1, 2, 1]);
        } finally {
          await reopened.close();
        }
      }));

    test("an alias moves atomically: concurrent readers see the old or the new version", () =>
      withRegistry(async (r) => {
        const usecase = freshUsecase();
        await r.register(newVersion(usecase));
        await r.register(newVersion(usecase));
        await r.setAlias(usecase, "champion", 1);
        const seen = new Set<number | null>();
        const moves: Promise<unknown>[] = [];
        for (let i = 0; i < 40; i++) {
          moves.push(r.setAlias(usecase, "champion", (i % 2) + 1));
          moves.push(r.alias(usecase, "champion").then((v) => seen.add(v?.version ?? null)));
        }
        await Promise.all(moves);
        expect([...seen].every((v) => v === 1 || v === 2)).toBe(true);
        expect((await r.alias(usecase, "champion"))?.version).toBe(2);
      }));

    test("a damaged or mismatched model is rejected, nothing is stored, the champion stays", () =>
      withRegistry(async (r) => {
        const usecase = freshUsecase();
        await r.register(newVersion(usecase));
        await r.setAlias(usecase, "champion", 1);
        const good = contractModels.gbt;
        const cases: [string, Partial<NewModelVersion>, string[]][] = [
          ["flipped bytes", { onnx: flipped(good, 4) }, ["checksum", "format"]],
          ["one flipped byte", { onnx: flipped(good, 1) }, ["checksum", "format"]],
          ["truncated", { onnx: good.slice(0, Math.floor(good.length * 0.7)) }, ["format"]],
          ["garbage", { onnx: new TextEncoder().encode("not a model") }, ["format"]],
          [
            "features in another order",
            { featureSchema: { names: [...contractModels.featureNames].reverse() } },
            ["schema"],
          ],
          [
            "a feature missing",
            { featureSchema: { names: contractModels.featureNames.slice(1) } },
            ["schema"],
          ],
          ["another kind", { kind: "logistic" }, ["kind"]],
        ];
        for (const [label, overrides, reasons] of cases) {
          const error = await rejected(r.register(newVersion(usecase, overrides)));
          expect(error, label).toBeInstanceOf(ModelRejectedError);
          expect(reasons, `${label}: ${(error as Error).message}`).toContain(
            (error as ModelRejectedError).reason,
          );
          expect((error as Error).message).toContain("nothing was stored");
        }
        const schemaError = await rejected(
          r.register(newVersion(usecase, { featureSchema: { names: ["f0", "f1", "f2"] } })),
        );
        expect((schemaError as Error).message).toContain("not in the schema: f3, f4, f5");
        expect((await r.list(usecase)).map((v) => v.version)).toEqual([1]);
        expect((await r.alias(usecase, "champion"))?.version).toBe(1);
        expect(await r.get(usecase, 2)).toBeNull();
        // The next good model still gets the next number.
        expect((await r.register(newVersion(usecase))).version).toBe(2);
      }));

    test("bad fields are refused with the field named, and nothing is stored", () =>
      withRegistry(async (r) => {
        const usecase = freshUsecase();
        const cases: [Partial<NewModelVersion>, string][] = [
          [{ usecase: "Fraud Detection" }, "usecase"],
          [{ onnx: new Uint8Array(64 * 1024 * 1024 + 1) }, "onnx"],
          [{ onnx: new Uint8Array(0) }, "onnx"],
          [{ metrics: { "test.pr_auc": Number.NaN } }, "metrics.test.pr_auc"],
          [{ metrics: { "bad name!": 1 } }, "metrics.bad name!"],
          [{ threshold: Number.POSITIVE_INFINITY }, "threshold"],
          [{ params: { when: new Date() } }, "params.when"],
          [{ featureSchema: { names: ["f0", "f0"] } }, "featureSchema.names[1]"],
          [
            {
              trainingData: {
                fromMs: 2,
                toMs: 1,
                offsets: [],
                source: "",
              },
            },
            "trainingData",
          ],
          [
            {
              trainingData: {
                fromMs: 1,
                toMs: 2,
                offsets: [{ topic: "t", partition: 0, fromOffset: 5, toOffset: 4 }],
                source: "",
              },
            },
            "trainingData.offsets[0]",
          ],
        ];
        for (const [overrides, path] of cases) {
          const error = await rejected(r.register(newVersion(usecase, overrides)));
          expect(error, path).toBeInstanceOf(ValidationError);
          expect((error as ValidationError).path).toBe(path);
        }
        expect(await r.list(usecase)).toEqual([]);
        expect(await rejected(r.get("NOT VALID", 1))).toBeInstanceOf(ValidationError);
        expect(await rejected(r.get(usecase, 0))).toBeInstanceOf(ValidationError);
      }));

    test("reopening keeps versions, bytes and aliases", () =>
      withRegistry(async (r, under) => {
        const usecase = freshUsecase();
        const first = await r.register(newVersion(usecase));
        const second = await r.register(
          newVersion(usecase, { kind: "logistic", onnx: contractModels.logistic }),
        );
        await r.setAlias(usecase, "champion", 2);
        await r.setAlias(usecase, "challenger", 1);
        const before = await r.aliases(usecase);
        await r.close();
        const again = await under.reopen();
        try {
          expect(await again.aliases(usecase)).toEqual(before);
          expect(await again.get(usecase, 1)).toEqual(first);
          expect(await again.get(usecase, 2)).toEqual(second);
          expect((await again.alias(usecase, "champion"))?.kind).toBe("logistic");
          expect((await again.register(newVersion(usecase))).version).toBe(3);
        } finally {
          await again.close();
        }
      }));
  });
}

/**
 * Retention (`keepVersions`), the same for every backend: a registration deletes the use case's
 * versions older than the newest N, except those an alias names and those that ever served as
 * champion (they made decisions someone may have to explain). `open` gives a registry keeping N.
 */
export function retentionContract(
  name: string,
  open: (keepVersions: number) => Promise<ModelRegistry>,
): void {
  test(`${name} retention: the newest N are kept, and every aliased or past champion`, async () => {
    const registry = await open(3);
    const usecase = freshUsecase();
    const other = freshUsecase();
    const versions = async (u: string) => (await registry.list(u)).map((v) => v.version);
    try {
      await registry.register(newVersion(usecase));
      await registry.setAlias(usecase, "champion", 1);
      for (let i = 0; i < 3; i++) await registry.register(newVersion(usecase));
      await registry.register(newVersion(other));
      expect(await versions(usecase)).toEqual([4, 3, 2, 1]);
      await registry.register(newVersion(usecase));
      // 2 is now older than the newest three, unaliased and never a champion.
      expect(await versions(usecase)).toEqual([5, 4, 3, 1]);
      expect(await versions(other)).toEqual([1]);
      await registry.setAlias(usecase, "challenger", 3);
      await registry.register(newVersion(usecase));
      await registry.register(newVersion(usecase));
      expect(await versions(usecase)).toEqual([7, 6, 5, 3, 1]);
      // 5 is promoted: 1 has no alias any more but served; 3 loses its challenger alias.
      await registry.setAlias(usecase, "champion", 5);
      await registry.deleteAlias(usecase, "challenger");
      await registry.register(newVersion(usecase));
      expect(await versions(usecase)).toEqual([8, 7, 6, 5, 1]);
      expect(await registry.get(usecase, 2)).toBeNull();
      expect(await registry.get(usecase, 1)).not.toBeNull();
      expect((await registry.championTerms(usecase)).map((t) => t.version)).toEqual([5, 1]);
      // Numbers are never reused, and a deleted version cannot be aliased again.
      expect((await registry.register(newVersion(usecase))).version).toBe(9);
      expect(await rejected(registry.setAlias(usecase, "champion", 2))).toBeInstanceOf(
        VersionNotFoundError,
      );
      expect((await registry.alias(usecase, "champion"))?.version).toBe(5);
    } finally {
      await registry.close();
    }
  });
}
