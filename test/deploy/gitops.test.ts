/**
 * GitOps without a cluster: every ArgoCD object under gitops/ is valid against ArgoCD's schemas,
 * the ApplicationSet's generator finds each environment and every parameter its templates use,
 * the AppProject admits exactly what the Applications deploy, and promotion (`bun run promote`)
 * changes exactly the lines it should, on a copy of the repository's files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Glob } from "bun";
import { parse } from "yaml";
import {
  ENVIRONMENTS,
  type K8sObject,
  parseManifests,
  REPO,
  run,
  validateObject,
} from "./support.ts";

const GITOPS = `${REPO}/gitops`;

function manifests(): { file: string; object: K8sObject }[] {
  const files = [...new Glob("{bootstrap,apps}/*.yaml").scanSync(GITOPS)].sort();
  return files.flatMap((file) =>
    parseManifests(readFileSync(join(GITOPS, file), "utf8")).map((object) => ({ file, object })),
  );
}

const all = manifests();
const find = (kind: string) => {
  const found = all.filter((m) => m.object.kind === kind).map((m) => m.object);
  if (found.length !== 1)
    throw new Error(`expected one ${kind} under gitops/, found ${found.length}`);
  return found[0] as K8sObject;
};
const appSet = find("ApplicationSet");
const project = find("AppProject");
const root = find("Application");
const config = (env: string) => parse(readFileSync(`${GITOPS}/envs/${env}/config.yaml`, "utf8"));
const values = (env: string) => parse(readFileSync(`${GITOPS}/envs/${env}/values.yaml`, "utf8"));

describe("ArgoCD objects", () => {
  test("every object under gitops/ is valid against ArgoCD's schemas", () => {
    expect(all.map((m) => m.object.kind).sort()).toEqual([
      "AppProject",
      "Application",
      "ApplicationSet",
    ]);
    for (const { object } of all) validateObject(object);
  });

  test("the root app-of-apps deploys gitops/apps, where the project and the ApplicationSet live", () => {
    expect(root.spec.source.path).toBe("gitops/apps");
    const inApps = all.filter((m) => m.file.startsWith("apps/")).map((m) => m.object.kind);
    expect(inApps.sort()).toEqual(["AppProject", "ApplicationSet"]);
    expect(root.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test("the generator finds one config per environment, each naming its own directory", () => {
    const pattern = appSet.spec.generators[0].git.files[0].path as string;
    const found = [...new Glob(pattern).scanSync(REPO)].sort();
    expect(found).toEqual(ENVIRONMENTS.map((e) => `gitops/envs/${e}/config.yaml`).sort());
    for (const env of ENVIRONMENTS) expect(config(env).env).toBe(env);
  });

  test("every parameter the templates use is in every environment's config (missingkey=error)", () => {
    expect(appSet.spec.goTemplateOptions).toContain("missingkey=error");
    const text = JSON.stringify(appSet.spec.template) + appSet.spec.templatePatch;
    const params = [...text.matchAll(/\{\{-?\s*(?:if\s+)?\.([A-Za-z.]+)\s*-?\}\}/g)].map(
      (m) => m[1] ?? "",
    );
    expect(params).toContain("env");
    expect(params).toContain("sync.automated");
    expect(params).toContain("chart.revision");
    expect(params).toContain("kedaScales");
    for (const env of ENVIRONMENTS) {
      for (const param of params) {
        const value = param.split(".").reduce((o, k) => o?.[k], config(env));
        expect(`${env}: ${param} = ${value}`).not.toContain("undefined");
      }
    }
  });

  test("sources, values files and namespaces are the ones the AppProject allows", () => {
    const repos = [
      root.spec.source.repoURL,
      ...appSet.spec.template.spec.sources.map((s: { repoURL: string }) => s.repoURL),
    ];
    for (const repo of repos) expect(project.spec.sourceRepos).toContain(repo);
    const chartSource = appSet.spec.template.spec.sources.find((s: { path?: string }) => s.path);
    expect(existsSync(`${REPO}/${chartSource.path}/Chart.yaml`)).toBe(true);
    const valuesFile = (chartSource.helm.valueFiles[0] as string).replace("$values/", "");
    const allowed = project.spec.destinations.map((d: { namespace: string }) => d.namespace).sort();
    expect(allowed).toEqual(ENVIRONMENTS.map((e) => config(e).namespace).sort());
    for (const env of ENVIRONMENTS) {
      expect(existsSync(`${REPO}/${valuesFile.replace("{{ .env }}", env)}`)).toBe(true);
    }
  });

  test("dev syncs by itself with prune and self-heal; prod only by hand, inside a sync window", () => {
    expect(config("dev").sync).toEqual({ automated: true, prune: true, selfHeal: true });
    expect(config("prod").sync.automated).toBe(false);
    const prodApp = (appSet.spec.template.metadata.name as string).replace("{{ .env }}", "prod");
    const window = project.spec.syncWindows.find((w: { applications: string[] }) =>
      w.applications.includes(prodApp),
    );
    expect(window).toMatchObject({ kind: "allow", manualSync: true });
  });

  test("KEDA owns the replicas exactly where an environment enables it", () => {
    for (const env of ENVIRONMENTS) {
      expect(`${env}: ${config(env).kedaScales}`).toBe(
        `${env}: ${values(env).keda?.enabled === true}`,
      );
    }
  });
});

describe("bun run promote", () => {
  let work = "";

  beforeAll(() => {
    // A copy of what the command touches, so the test never edits the repository's files.
    work = mkdtempSync(join(tmpdir(), "coelho-promote-"));
    cpSync(GITOPS, `${work}/gitops`, { recursive: true });
    cpSync(`${REPO}/scripts/promote.ts`, `${work}/scripts/promote.ts`);
    cpSync(`${REPO}/package.json`, `${work}/package.json`);
    symlinkSync(`${REPO}/node_modules`, `${work}/node_modules`);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const snapshot = () =>
    new Map(
      [...new Glob("gitops/**/*").scanSync(work)].map((f) => [
        f,
        readFileSync(join(work, f), "utf8").split("\n"),
      ]),
    );
  /** Every line that differs between two snapshots, as "file:line: before -> after". */
  const changed = (before: Map<string, string[]>, after: Map<string, string[]>) =>
    [...after].flatMap(([file, lines]) => {
      const old = before.get(file) ?? [];
      expect(lines.length).toBe(old.length);
      return lines.flatMap((line, i) =>
        line === old[i] ? [] : [`${file}:${i + 1}: ${old[i]?.trim()} -> ${line.trim()}`],
      );
    });
  const promote = (...args: string[]) => run(["bun", "run", "promote", "--", ...args], work);

  const VERSION = "99.0.0-test";
  /** The line `expected` describes for an env's file: where its key is, what it holds now. */
  const line = (env: string, file: string, key: string, next: string) => {
    const lines = readFileSync(`${work}/gitops/envs/${env}/${file}`, "utf8").split("\n");
    const i = lines.findIndex((l) => new RegExp(`^\\s+${key}:`).test(l));
    return `gitops/envs/${env}/${file}:${i + 1}: ${lines[i]?.trim()} -> ${key}: ${next}`;
  };

  test("release puts a version on dev: exactly its image tag and chart revision lines", () => {
    const before = snapshot();
    const expected = [
      line("dev", "config.yaml", "revision", `v${VERSION}`),
      line("dev", "values.yaml", "tag", `"${VERSION}"`),
    ];
    const r = promote("release", VERSION);
    expect(`${r.exitCode} ${r.stderr}`).toStartWith("0");
    expect(changed(before, snapshot())).toEqual(expected);
  });

  test("dev staging copies dev's image tag and chart revision to staging, nothing else, and shows the diff", () => {
    const before = snapshot();
    const oldTag = parse(readFileSync(`${work}/gitops/envs/staging/values.yaml`, "utf8")).image.tag;
    const expected = [
      line("staging", "config.yaml", "revision", `v${VERSION}`),
      line("staging", "values.yaml", "tag", `"${VERSION}"`),
    ];
    const r = promote("dev", "staging");
    expect(`${r.exitCode} ${r.stderr}`).toStartWith("0");
    expect(changed(before, snapshot())).toEqual(expected);
    expect(r.stdout).toContain(`-  tag: "${oldTag}"\n+  tag: "${VERSION}"`);
    expect(r.stdout).toContain(
      "git add gitops/envs/staging/values.yaml gitops/envs/staging/config.yaml",
    );
    // The promoted file still parses, and the image tag is still a string.
    const promoted = parse(readFileSync(`${work}/gitops/envs/staging/values.yaml`, "utf8"));
    expect(promoted.image.tag).toBe(VERSION);
  });

  test("a second run changes nothing and says so", () => {
    const before = snapshot();
    const r = promote("dev", "staging");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("staging already has these values; nothing to change");
    expect(changed(before, snapshot())).toEqual([]);
  });

  test("skipping an environment or naming an unknown one is refused, changing nothing", () => {
    const before = snapshot();
    const skip = promote("dev", "prod");
    expect(skip.exitCode).toBe(2);
    expect(skip.stderr).toContain("dev promotes to staging, not prod");
    const unknown = promote("staging", "qa");
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(
      '"qa" is not an environment; expected one of dev, staging, prod',
    );
    const version = promote("release", "latest");
    expect(version.stderr).toContain('release: "latest" is not a version; expected e.g. 0.2.0');
    expect(changed(before, snapshot())).toEqual([]);
  });
});
