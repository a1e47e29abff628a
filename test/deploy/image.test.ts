/**
 * The container image and the CI workflow, checked without Docker or GitHub: no engine runs here
 * and hadolint (Haskell) is not obtainable, so the Dockerfile is parsed and its promises checked
 * against the repository (a pinned base that matches package.json's Bun, production dependencies
 * only, a non-root user, the start command's file present, and every module the platform loads at
 * run time shipped in the image); the workflow is linted by actionlint (pinned, built from the Go
 * module proxy).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { Glob } from "bun";
import { PROVISION_TIMEOUT_MS, provision, REPO, run } from "./support.ts";

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  body: Instruction[];
}

/** Instructions of the Dockerfile, continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    // Docker drops comment lines, even inside a continued instruction.
    if (line.startsWith("#") || line === "") continue;
    pending += `${line.replace(/\\$/, "")} `;
    if (!line.endsWith("\\")) {
      const match = /^(\S+)\s+(.*)$/.exec(pending.trim());
      if (match) out.push({ op: (match[1] ?? "").toUpperCase(), args: (match[2] ?? "").trim() });
      pending = "";
    }
  }
  return out;
}

const dockerfile = readFileSync(`${REPO}/Dockerfile`, "utf8");
const all = instructions(dockerfile);
const args = new Map(
  all
    .filter((i) => i.op === "ARG" && i.args.includes("="))
    .map((i) => i.args.split("=", 2) as [string, string]),
);
const stages: Stage[] = [];
for (const i of all) {
  if (i.op === "FROM") {
    const [image = "", , name] = i.args.split(/\s+/);
    stages.push({
      from: image.replace(/\$\{(\w+)\}/g, (_, v) => args.get(v) ?? ""),
      name,
      body: [],
    });
  } else {
    stages.at(-1)?.body.push(i);
  }
}
const final = stages.at(-1) as Stage;
const pkg = JSON.parse(readFileSync(`${REPO}/package.json`, "utf8"));

/** Relative and bare imports of a module, as Bun's transpiler sees them (dynamic ones included). */
const transpiler = new Bun.Transpiler({ loader: "ts" });
function importsOf(file: string): string[] {
  return transpiler.scanImports(readFileSync(file, "utf8")).map((i) => i.path);
}

describe("Dockerfile", () => {
  test("every stage is on the pinned Bun image package.json asks for", () => {
    const bun = (pkg.packageManager as string).replace("bun@", "");
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toBe(`oven/bun:${bun}`);
  });

  test("dependencies are installed from the lockfile, production only", () => {
    const install = stages[0]?.body.find((i) => i.op === "RUN" && i.args.includes("bun install"));
    expect(install?.args).toContain("--frozen-lockfile");
    expect(install?.args).toContain("--production");
  });

  test("the runtime stage runs the platform's start command as a non-root user, with no build tools", () => {
    const user = final.body.filter((i) => i.op === "USER").at(-1)?.args ?? "root";
    expect(["root", "0", "0:0"]).not.toContain(user);
    expect(user.split(":")[0]).toMatch(/^[1-9][0-9]*$/);
    const cmd = JSON.parse(final.body.find((i) => i.op === "CMD")?.args ?? "[]") as string[];
    expect(cmd.join(" ")).toBe(pkg.scripts.start);
    expect(existsSync(join(REPO, cmd.at(-1) ?? "missing"))).toBe(true);
    const runs = final.body
      .filter((i) => i.op === "RUN")
      .map((i) => i.args)
      .join("\n");
    expect(runs).not.toMatch(/apt-get|apk add|gcc|make |build-essential|bun install/);
    // The settings a container needs to be reachable and to write only to its volume.
    const env = final.body
      .filter((i) => i.op === "ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toContain("COELHO_HTTP_HOST=0.0.0.0");
    expect(env).toContain("COELHO_DATA_DIR=/data");
    expect(env).toContain("COELHO_SIMULATE=false");
  });

  test("what the runtime stage copies exists, and the build context (.dockerignore) lets it in", () => {
    const ignore = readFileSync(`${REPO}/.dockerignore`, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1).replace(/\/\*\*$/, ""));
    const copies = stages.flatMap((s) =>
      s.body.filter((i) => i.op === "COPY" && !i.args.includes("--from")),
    );
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(`${source}: ${existsSync(join(REPO, source))}`).toBe(`${source}: true`);
        expect(ignore).toContain(source);
      }
    }
    const fromDeps = final.body.filter((i) => i.op === "COPY" && i.args.includes("--from"));
    expect(fromDeps.map((i) => i.args)).toEqual(["--from=deps /app/node_modules ./node_modules"]);
  });

  test("every module the platform and its training child load is in the image; packages resolve from a production-only install", () => {
    const copied = final.body
      .filter((i) => i.op === "COPY" && !i.args.includes("--from"))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const excluded = [...new Glob("**/*.test.ts").scanSync(REPO)];
    const seen = new Set<string>();
    const missing: string[] = [];
    const packages = new Map<string, string>();
    // bun start, and the CLI the first start runs in a child process to train a model.
    const queue = ["actors/main.ts", "models/train-cli.ts"].map((f) => join(REPO, f));
    while (queue.length > 0 && seen.size < 5000) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const path = relative(REPO, file);
      if (
        !copied.some((dir) => path === dir || path.startsWith(`${dir}/`)) ||
        excluded.includes(path)
      ) {
        missing.push(`${path} (not copied into the image)`);
        continue;
      }
      if (!file.endsWith(".ts")) continue;
      for (const spec of importsOf(file)) {
        if (spec.startsWith(".")) {
          const target = resolve(dirname(file), spec);
          queue.push(target);
        } else if (!spec.startsWith("bun") && !spec.startsWith("node:")) {
          packages.set(spec, path);
        }
      }
    }
    // The deps stage, run here: the same install command on the same lockfile, in a scratch dir.
    const scratch = mkdtempSync(join(tmpdir(), "coelho-image-deps-"));
    try {
      for (const f of ["package.json", "bun.lock", "bunfig.toml", "patches"]) {
        cpSync(join(REPO, f), join(scratch, f), { recursive: true });
      }
      const install = stages[0]?.body.find((i) => i.op === "RUN" && i.args.includes("bun install"));
      const command = (install?.args.split("&&")[0] ?? "").trim().split(/\s+/);
      const result = run(command, scratch, 180_000);
      expect(
        `${command.join(" ")}: exit ${result.exitCode} ${result.stderr.slice(-500)}`,
      ).toContain("exit 0");
      for (const [spec, importer] of packages) {
        try {
          Bun.resolveSync(spec, join(scratch, "actors"));
        } catch {
          missing.push(`${spec} imported by ${importer} (not in the production install)`);
        }
      }
      // Dev tools stay out of the image.
      expect(existsSync(join(scratch, "node_modules/@biomejs"))).toBe(false);
      expect(existsSync(join(scratch, "node_modules/kubernetes-models"))).toBe(false);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    expect(missing).toEqual([]);
    expect(seen.size).toBeGreaterThan(20);
  });
});

describe("CI workflow", () => {
  let actionlint = "";
  beforeAll(() => {
    actionlint = provision("scripts/actionlint/install.sh");
  }, PROVISION_TIMEOUT_MS);

  test("actionlint finds nothing in .github/workflows", () => {
    const workflows = [...new Glob(".github/workflows/*.{yml,yaml}").scanSync(REPO)];
    expect(workflows.length).toBeGreaterThan(0);
    const lint = run([actionlint, "-no-color", ...workflows]);
    expect(`exit ${lint.exitCode}\n${lint.stdout}${lint.stderr}`).toBe("exit 0\n");
  });

  test("tests gate the image, tags push it, and dev's tag follows through promote", () => {
    const text = readFileSync(`${REPO}/.github/workflows/ci.yml`, "utf8");
    expect(text).toContain("run: bash .ci/run");
    expect(text).toMatch(
      /image:\n\s+if: startsWith\(github.ref, 'refs\/tags\/v'\)\n\s+needs: test/,
    );
    expect(text).toContain("push: true");
    expect(text).toContain(`bun run promote -- release "$\{TAG#v}"`);
  });
});
