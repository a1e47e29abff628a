/**
 * Promotion is a git change: `bun run promote -- dev staging` copies what dev runs (its image tag
 * and its chart revision) into staging's files, prints the diff and the commit to make. Nothing is
 * committed or pushed: the change is reviewed like any other.
 *
 * `bun run promote -- release 0.2.0` is the first step of that chain, run by CI on a release tag:
 * dev gets image tag `0.2.0` and chart revision `v0.2.0`.
 *
 * Only the two values change, in place: the files are edited at the exact character range of each
 * value, so comments, order and formatting stay as they were.
 *
 * @example
 * bun run promote -- dev staging
 * bun run promote -- staging prod
 * bun run promote -- release 0.2.0      # CI, on the tag v0.2.0
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { isScalar, parse, parseDocument } from "yaml";

/** Environments in promotion order: a release reaches each one after the one before it. */
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;

const USAGE = `usage: bun run promote -- <from> <to>      copy the image tag and chart revision (${ENVIRONMENTS.join(" -> ")})
       bun run promote -- release <version>  set dev to image tag <version>, chart revision v<version>`;

/** What moves from one environment to the next: a value at a YAML path in one file. */
const PROMOTED = [
  { file: "values.yaml", path: ["image", "tag"], what: "image tag" },
  { file: "config.yaml", path: ["chart", "revision"], what: "chart revision" },
] as const;

class UsageError extends Error {}

interface Change {
  file: string;
  line: number;
  before: string;
  after: string;
}

function envFile(gitopsDir: string, env: string, file: string): string {
  const path = join(gitopsDir, "envs", env, file);
  if (!existsSync(path)) throw new UsageError(`${env}: ${path} does not exist`);
  return path;
}

/** The value at `path` and the character range of its scalar in the file's text. */
function scalarAt(file: string, text: string, path: readonly string[]) {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML: ${doc.errors[0]?.message}`);
  const node = doc.getIn(path, true);
  if (!isScalar(node) || !node.range || typeof node.value !== "string") {
    throw new Error(`${file}: ${path.join(".")} is missing or not a string; expected e.g. "0.1.0"`);
  }
  return {
    value: node.value,
    plain: node.type === "PLAIN",
    start: node.range[0],
    end: node.range[1],
  };
}

/** The value as YAML, in the style it had: plain where it reads back as the same string. */
function render(value: string, plain: boolean): string {
  if (plain && /^[0-9A-Za-z][0-9A-Za-z._+-]*$/.test(value) && parse(value) === value) return value;
  // JSON's quoting is valid YAML and keeps a tag such as 1.10 a string.
  return JSON.stringify(value);
}

/** Writes `value` at `path` in place, returning the changed line (or null when already equal). */
function setScalar(file: string, path: readonly string[], value: string): Change | null {
  const text = readFileSync(file, "utf8");
  const found = scalarAt(file, text, path);
  if (found.value === value) return null;
  const next = text.slice(0, found.start) + render(value, found.plain) + text.slice(found.end);
  writeFileSync(file, next);
  const line = text.slice(0, found.start).split("\n").length;
  return {
    file,
    line,
    before: text.split("\n")[line - 1] ?? "",
    after: next.split("\n")[line - 1] ?? "",
  };
}

function parseArgs(argv: string[]): { from: string | null; to: string; values: string[] } {
  const args = argv.filter((a) => a !== "--");
  if (args.length !== 2) throw new UsageError(`expected two arguments, got ${args.length}`);
  const [first = "", second = ""] = args;
  if (first === "release") {
    if (!/^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/.test(second)) {
      throw new UsageError(`release: "${second}" is not a version; expected e.g. 0.2.0`);
    }
    return { from: null, to: "dev", values: [second, `v${second}`] };
  }
  const names = ENVIRONMENTS as readonly string[];
  for (const env of [first, second]) {
    if (!names.includes(env)) {
      throw new UsageError(`"${env}" is not an environment; expected one of ${names.join(", ")}`);
    }
  }
  const next = names[names.indexOf(first) + 1];
  if (second !== next) {
    throw new UsageError(
      `${first} promotes to ${next ?? "nothing (it is the last environment)"}, not ${second}: a release goes through every environment in turn (${names.join(" -> ")})`,
    );
  }
  return { from: first, to: second, values: [] };
}

/** Runs a promotion on the gitops folder; returns the changed lines. Throws UsageError on bad input. */
export function promote(argv: string[], gitopsDir: string): Change[] {
  const { from, to, values } = parseArgs(argv);
  const wanted = PROMOTED.map((p, i) => {
    if (from === null) return values[i] ?? "";
    const file = envFile(gitopsDir, from, p.file);
    return scalarAt(file, readFileSync(file, "utf8"), p.path).value;
  });
  // Read every target first, so a bad file stops the promotion before anything is written.
  for (const p of PROMOTED) {
    const file = envFile(gitopsDir, to, p.file);
    scalarAt(file, readFileSync(file, "utf8"), p.path);
  }
  const changes: Change[] = [];
  PROMOTED.forEach((p, i) => {
    const change = setScalar(envFile(gitopsDir, to, p.file), p.path, wanted[i] ?? "");
    if (change) changes.push(change);
  });
  return changes;
}

function main(): number {
  const repo = join(import.meta.dir, "..");
  const gitopsDir = join(repo, "gitops");
  const argv = process.argv.slice(2);
  let changes: Change[];
  try {
    changes = promote(argv, gitopsDir);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`promote: ${error.message}\n${USAGE}`);
      return 2;
    }
    console.error(`promote: ${(error as Error).message}`);
    return 1;
  }
  const [first, second] = argv.filter((a) => a !== "--");
  const target = first === "release" ? "dev" : second;
  if (changes.length === 0) {
    console.log(`${target} already has these values; nothing to change.`);
    return 0;
  }
  for (const c of changes) {
    const path = relative(repo, c.file);
    console.log(`--- a/${path}\n+++ b/${path}\n@@ line ${c.line} @@\n-${c.before}\n+${c.after}`);
  }
  const files = changes.map((c) => relative(repo, c.file)).join(" ");
  const what = first === "release" ? `release ${second} to dev` : `promote ${first} to ${second}`;
  console.log(`\nReview, then commit:\n  git add ${files} && git commit -m "gitops: ${what}"`);
  return 0;
}

if (import.meta.main) process.exit(main());
