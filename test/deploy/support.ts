/**
 * What the deployment tests share: the pinned tools (built once by scripts/helm and
 * scripts/actionlint from the Go module proxy), rendering the chart with the real `helm`, and
 * validating every rendered object offline against the Kubernetes, ArgoCD and prometheus-operator
 * schemas (the npm kubernetes-models validators).
 */

import * as argo from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { spawnSync } from "bun";
import * as apps from "kubernetes-models/apps/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as core from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";

export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const CHART = `${REPO}/charts/coelho-realtime`;
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;

/** Building a tool from source the first time takes minutes on two cores; later runs reuse it. */
export const PROVISION_TIMEOUT_MS = 15 * 60_000;
const RUN_TIMEOUT_MS = 60_000;

/** A Kubernetes object as rendered: plain data, its kind and metadata always present. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped YAML
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped YAML
  [key: string]: any;
}

export interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string[], cwd = REPO, timeout = RUN_TIMEOUT_MS): Run {
  const result = spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", timeout });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: result.stdout.toString(),
    stderr: result.stderr.toString(),
  };
}

/** Runs an install script (scripts/<tool>/install.sh) and returns the binary path it prints. */
export function provision(script: string): string {
  const result = run(["bash", script], REPO, PROVISION_TIMEOUT_MS);
  const path = result.stdout.trim().split("\n").pop();
  if (result.exitCode !== 0 || !path) {
    throw new Error(`${script} exited ${result.exitCode}:\n${result.stderr.slice(-3000)}`);
  }
  return path;
}

/** Helm's note that it followed the chart's link to observability/ is expected, not an error. */
export function helmErrors(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => line.trim() !== "" && !/found symbolic link in path/.test(line))
    .join("\n");
}

export interface Rendered extends Run {
  objects: K8sObject[];
}

/** `helm template` with value files and --set pairs; the objects parsed when it succeeds. */
export function helmTemplate(
  helm: string,
  options: { valueFiles?: string[]; set?: string[]; namespace?: string; release?: string } = {},
): Rendered {
  const cmd = [
    helm,
    "template",
    options.release ?? "coelho-realtime",
    CHART,
    "--namespace",
    options.namespace ?? "coelho",
  ];
  for (const file of options.valueFiles ?? []) cmd.push("--values", file);
  for (const pair of options.set ?? []) cmd.push("--set", pair);
  const result = run(cmd);
  const objects = result.exitCode === 0 ? parseManifests(result.stdout) : [];
  return { ...result, objects };
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === "object");
}

// biome-ignore lint/suspicious/noExplicitAny: the model classes share no useful constructor type
type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  "apps/v1": apps,
  "policy/v1": policy,
  "networking.k8s.io/v1": networking,
  "monitoring.coreos.com/v1": monitoring,
  "argoproj.io/v1alpha1": argo,
};

/**
 * Validates one object against its schema; throws naming the object and the schema's complaint.
 * KEDA publishes no model in this toolset: its ScaledObject gets the checks of `validateKeda`.
 */
export function validateObject(object: K8sObject): void {
  const where = `${object.kind}/${object.metadata?.name}`;
  if (!object.metadata?.name) throw new Error(`${object.kind}: no metadata.name`);
  if (object.apiVersion === "keda.sh/v1alpha1" && object.kind === "ScaledObject") {
    validateKeda(object);
    return;
  }
  const group = MODELS[object.apiVersion];
  const model = group?.[object.kind] as Model | undefined;
  if (!model) throw new Error(`${where}: no schema known for ${object.apiVersion} ${object.kind}`);
  try {
    new model(object).validate();
  } catch (error) {
    throw new Error(`${where} (${object.apiVersion}) is not valid: ${(error as Error).message}`);
  }
}

/** The fields KEDA's CRD requires of a ScaledObject, and their types. */
function validateKeda(object: K8sObject): void {
  const spec = object.spec;
  const where = `ScaledObject/${object.metadata.name}`;
  const problems: string[] = [];
  if (typeof spec?.scaleTargetRef?.name !== "string") problems.push("spec.scaleTargetRef.name");
  for (const key of ["minReplicaCount", "maxReplicaCount", "cooldownPeriod"]) {
    if (!Number.isInteger(spec?.[key])) problems.push(`spec.${key} (integer)`);
  }
  if (!Array.isArray(spec?.triggers) || spec.triggers.length === 0) problems.push("spec.triggers");
  for (const trigger of spec?.triggers ?? []) {
    if (typeof trigger.type !== "string") problems.push("triggers[].type");
    for (const [key, value] of Object.entries(trigger.metadata ?? {})) {
      if (typeof value !== "string") problems.push(`triggers[].metadata.${key} (string)`);
    }
  }
  if (problems.length > 0) throw new Error(`${where}: missing or mistyped ${problems.join(", ")}`);
}

/** True when every label of the selector is on the labels. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

export function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function one(objects: K8sObject[], kind: string): K8sObject {
  const found = byKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as K8sObject;
}

/** The platform container's environment as the kubelet would give it to the process. */
export function podEnv(sts: K8sObject, podName: string, namespace: string): Record<string, string> {
  const out: Record<string, string> = {};
  const container = sts.spec.template.spec.containers[0];
  for (const e of container.env) {
    if (e.valueFrom?.fieldRef) {
      out[e.name] = { "metadata.name": podName, "metadata.namespace": namespace }[
        e.valueFrom.fieldRef.fieldPath as string
      ] as string;
    } else if (e.valueFrom?.secretKeyRef) {
      out[e.name] =
        `secret-${e.valueFrom.secretKeyRef.name}-${e.valueFrom.secretKeyRef.key}-0123456789`;
    } else {
      // $(VAR) expands variables defined earlier in the list, as the kubelet does.
      out[e.name] = String(e.value).replace(/\$\(([A-Z_]+)\)/g, (m, v) => out[v] ?? m);
    }
  }
  return out;
}
