/**
 * The Helm chart, proven without a cluster: the real `helm` (pinned, built from the Go module
 * proxy by scripts/helm/install.sh) lints and renders it for the default values and each GitOps
 * environment, and every rendered object is validated against the Kubernetes and
 * prometheus-operator schemas offline. The rendered pod's settings are fed to the platform's own
 * `loadConfig`, so the chart cannot configure a pod the platform would refuse to start.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Glob } from "bun";
import { parse } from "yaml";
import { openLog } from "../../actors/platform.ts";
import { loadConfig } from "../../runtime/config.ts";
import {
  byKind,
  CHART,
  ENVIRONMENTS,
  helmErrors,
  helmTemplate,
  one,
  PROVISION_TIMEOUT_MS,
  podEnv,
  provision,
  REPO,
  type Rendered,
  run,
  selects,
  validateObject,
} from "./support.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const FIXTURES = `${REPO}/test/deploy/fixtures`;
const envValues = (env: string) => `${REPO}/gitops/envs/${env}/values.yaml`;

let helm = "";
const renderings = new Map<string, Rendered>();

/** The renderings most tests look at: the defaults, every environment, everything switched on. */
function rendering(name: string): Rendered {
  const found = renderings.get(name);
  if (!found) throw new Error(`no rendering ${name}`);
  return found;
}

beforeAll(() => {
  helm = provision("scripts/helm/install.sh");
  renderings.set("default", helmTemplate(helm));
  for (const env of ENVIRONMENTS) {
    renderings.set(
      env,
      helmTemplate(helm, { valueFiles: [envValues(env)], namespace: `coelho-${env}` }),
    );
  }
  renderings.set("everything", helmTemplate(helm, { valueFiles: [`${FIXTURES}/everything.yaml`] }));
}, PROVISION_TIMEOUT_MS);

const CASES = ["default", ...ENVIRONMENTS, "everything"];

describe("helm lint and template", () => {
  test("helm lint --strict passes for the default values and each environment", () => {
    for (const values of [null, ...ENVIRONMENTS.map(envValues)]) {
      const lint = run([helm, "lint", "--strict", CHART, ...(values ? ["--values", values] : [])]);
      expect(`${values ?? "defaults"}: exit ${lint.exitCode}\n${lint.stdout}`).toContain("exit 0");
      expect(lint.stdout).toContain("0 chart(s) failed");
    }
  });

  test.each(CASES)("%s: renders, and every object is valid against its schema", (name) => {
    const r = rendering(name);
    expect(helmErrors(r.stderr)).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.objects.length).toBeGreaterThan(5);
    for (const object of r.objects) validateObject(object);
    // No two objects of a kind share a name (one would silently replace the other).
    const names = r.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    const kinds = new Set(r.objects.map((o) => o.kind));
    for (const kind of ["StatefulSet", "Service", "PodDisruptionBudget", "NetworkPolicy", "Pod"]) {
      expect(kinds).toContain(kind);
    }
    expect(byKind(r.objects, "Service")).toHaveLength(2);
  });

  test("everything on: ServiceMonitor, PrometheusRules, dashboards and the simulator render valid", () => {
    const kinds = rendering("everything").objects.map((o) => o.kind);
    expect(kinds).toContain("ServiceMonitor");
    expect(kinds).toContain("Deployment");
    // The demo traffic is the world the leader's first champion trains on, history first.
    const simulator = one(rendering("everything").objects, "Deployment");
    expect(simulator.spec.template.spec.containers[0].command).toContain("--platform-world");
    // With simulatedWorldFrom, the very same world: the simulator and the pods get one time.
    const worldFrom = (env: { name: string; value?: string }[]) =>
      env.find((e) => e.name === "COELHO_SIMULATE_FROM")?.value;
    const sts = one(rendering("everything").objects, "StatefulSet");
    expect(worldFrom(simulator.spec.template.spec.containers[0].env)).toBe("2026-11-01T00:00:00Z");
    expect(worldFrom(sts.spec.template.spec.containers[0].env)).toBe("2026-11-01T00:00:00Z");
    expect(
      worldFrom(
        one(rendering("default").objects, "StatefulSet").spec.template.spec.containers[0].env,
      ),
    ).toBeUndefined();
    // prod enables KEDA: its ScaledObject passes the checks of KEDA's required fields.
    expect(rendering("prod").objects.map((o) => o.kind)).toContain("ScaledObject");
  });
});

describe("the StatefulSet and what selects it", () => {
  test.each(CASES)(
    "%s: Services, PDB, NetworkPolicy, ServiceMonitor and KEDA target its pods",
    (name) => {
      const { objects } = rendering(name);
      const sts = one(objects, "StatefulSet");
      const podLabels = sts.spec.template.metadata.labels;
      expect(selects(sts.spec.selector.matchLabels, podLabels)).toBe(true);
      expect(sts.spec.podManagementPolicy).toBe("Parallel");

      const services = byKind(objects, "Service");
      for (const svc of services) expect(selects(svc.spec.selector, podLabels)).toBe(true);
      const headless = services.find((s) => s.spec.clusterIP === "None");
      expect(headless?.metadata.name).toBe(sts.spec.serviceName);
      expect(headless?.spec.publishNotReadyAddresses).toBe(true);

      const pdb = one(objects, "PodDisruptionBudget");
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
      // Nothing else the chart runs (simulator, test pod) is counted by the PDB or the Services.
      for (const other of objects.filter((o) => o.kind === "Deployment" || o.kind === "Pod")) {
        const labels =
          other.kind === "Pod" ? other.metadata.labels : other.spec.template.metadata.labels;
        expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(false);
        for (const svc of services) expect(selects(svc.spec.selector, labels)).toBe(false);
      }

      expect(selects(one(objects, "NetworkPolicy").spec.podSelector.matchLabels, podLabels)).toBe(
        true,
      );

      for (const sm of byKind(objects, "ServiceMonitor")) {
        const scraped = services.filter((s) =>
          selects(sm.spec.selector.matchLabels, s.metadata.labels),
        );
        // One Service only, or every pod would be scraped twice.
        const api = services.find((s) => s.spec.clusterIP !== "None");
        expect(scraped.map((s) => s.metadata.name)).toEqual([
          api?.metadata.name ?? "no API Service",
        ]);
      }
      for (const so of byKind(objects, "ScaledObject")) {
        expect(so.spec.scaleTargetRef).toMatchObject({
          kind: "StatefulSet",
          name: sts.metadata.name,
        });
      }
    },
  );

  test.each(CASES)("%s: replicas never exceed the partitions", (name) => {
    const { objects } = rendering(name);
    const sts = one(objects, "StatefulSet");
    const env = sts.spec.template.spec.containers[0].env as { name: string; value?: string }[];
    const partitions = Number(env.find((e) => e.name === "COELHO_PARTITIONS")?.value);
    const scaled = byKind(objects, "ScaledObject")[0];
    const most = scaled ? scaled.spec.maxReplicaCount : sts.spec.replicas;
    expect(Number.isInteger(most)).toBe(true);
    expect(most).toBeLessThanOrEqual(partitions);
    if (scaled) expect(sts.spec.replicas).toBeUndefined();
  });
});

describe("the pod the platform runs in", () => {
  test.each(CASES)(
    "%s: the platform accepts its settings (loadConfig), identity from the pod",
    (name) => {
      const { objects } = rendering(name);
      const sts = one(objects, "StatefulSet");
      const namespace = name === "default" || name === "everything" ? "coelho" : `coelho-${name}`;
      const pod = `${sts.metadata.name}-0`;
      const config = loadConfig(podEnv(sts, pod, namespace));
      expect(config.instanceId).toBe(pod);
      expect(config.advertisedUrl).toBe(
        `http://${pod}.${sts.spec.serviceName}.${namespace}.svc.cluster.local:${config.httpPort}`,
      );
      expect(config.httpHost).toBe("0.0.0.0");
      const container = sts.spec.template.spec.containers[0];
      expect(container.ports[0].containerPort).toBe(config.httpPort);
      const mounts = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
      expect(mounts).toContain(config.dataDir);
      expect(mounts).toContain("/tmp");
      expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe(
        container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === config.dataDir)
          .name,
      );
      // The kubelet waits longer than the platform's drain before it kills.
      expect(sts.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        config.shutdownMs,
      );
      if (name === "prod") {
        expect(config.simulate).toBe(false);
        expect(config.adminToken).toBeDefined();
        expect(config.mlflowUrl).toBe("http://mlflow.mlflow.svc:5000");
        expect(config.kafkaBrokers.length).toBeGreaterThan(0);
        // TLS with the CA mounted from its Secret, SCRAM credentials from theirs.
        expect(config.kafkaTls.enabled).toBe(true);
        expect(mounts).toContain(dirname(config.kafkaTls.caFile ?? "no CA file"));
        expect(config.kafkaSasl?.mechanism).toBe("scram-sha-512");
      }
    },
  );

  test("a Kafka CA file the pod cannot read stops startup with a message naming it", async () => {
    const config = loadConfig({
      COELHO_KAFKA_BROKERS: "127.0.0.1:9",
      COELHO_KAFKA_SSL: "true",
      COELHO_KAFKA_SSL_CA_FILE: "/nonexistent/ca.crt",
    });
    await expect(openLog(config)).rejects.toThrow(
      'COELHO_KAFKA_SSL_CA_FILE: "/nonexistent/ca.crt" cannot be read (ENOENT)',
    );
  });

  test.each(CASES)("%s: probes on the health endpoints, hardened security", (name) => {
    const sts = one(rendering(name).objects, "StatefulSet");
    const spec = sts.spec.template.spec;
    const c = spec.containers[0];
    expect(c.startupProbe.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/health/ready", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    if (name !== "default") expect(spec.topologySpreadConstraints.length).toBeGreaterThan(0);
  });

  test.each(CASES)("%s: credentials come from existing Secrets, never plaintext", (name) => {
    const { objects } = rendering(name);
    expect(byKind(objects, "Secret")).toHaveLength(0);
    const sts = one(objects, "StatefulSet");
    for (const e of sts.spec.template.spec.containers[0].env) {
      if (/TOKEN|PASSWORD|USERNAME/.test(e.name)) {
        expect(e.value).toBeUndefined();
        expect(e.valueFrom.secretKeyRef.name).toBeTruthy();
      }
    }
  });

  test("the NetworkPolicy admits only the API port, and egress to DNS, Kafka, MLflow and peers", () => {
    const { objects } = rendering("everything");
    const np = one(objects, "NetworkPolicy");
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    for (const rule of np.spec.ingress)
      expect(rule.ports).toEqual([{ port: "http", protocol: "TCP" }]);
    const egressPorts = np.spec.egress.map((r: { ports: { port: unknown }[] }) =>
      r.ports.map((p) => p.port),
    );
    expect(egressPorts).toEqual([[53, 53], ["http"], [9092, 9093], [5000]]);
    expect(np.spec.egress[2].to).toEqual([{ ipBlock: { cidr: "10.20.0.0/16" } }]);
    const namespaces = np.spec.ingress[0].from
      .map(
        (f: { namespaceSelector?: { matchLabels: Record<string, string> } }) =>
          f.namespaceSelector?.matchLabels,
      )
      .filter(Boolean);
    expect(namespaces).toEqual([{ "kubernetes.io/metadata.name": "monitoring" }]);
  });
});

describe("values that must not render", () => {
  const refused = (set: string[], valueFiles: string[] = []) => {
    const r = helmTemplate(helm, { set, valueFiles });
    expect(r.exitCode).not.toBe(0);
    return helmErrors(r.stderr);
  };

  test("replicas above the partitions fail with a message naming both", () => {
    const error = refused(["kafka.brokers=kafka:9092", "replicas=4", "partitions=3"]);
    expect(error).toContain("replicas: 4 is more than partitions: 3");
    expect(error).toContain("Expected replicas <= partitions");
  });

  test("KEDA's maxReplicaCount above the partitions fails", () => {
    const error = refused([
      "kafka.brokers=kafka:9092",
      "keda.enabled=true",
      "keda.maxReplicaCount=7",
      "partitions=6",
    ]);
    expect(error).toContain("keda.maxReplicaCount: 7 is more than partitions: 6");
  });

  test("more than one pod on the embedded log fails", () => {
    expect(refused(["replicas=2"])).toContain(
      "kafka.brokers: empty (the embedded log) allows one pod",
    );
  });

  test("a simulated world's time without its zone fails with the schema's error", () => {
    const error = refused(["simulatedWorldFrom=2026-11-01"]);
    expect(error).toContain("values don't meet the specifications of the schema");
    expect(error).toContain("simulatedWorldFrom");
  });

  test("a misspelt key fails with the schema's error", () => {
    const error = refused([], [`${FIXTURES}/misspelt-key.yaml`]);
    expect(error).toContain("values don't meet the specifications of the schema");
    expect(error).toContain("additional properties 'replica' not allowed");
    expect(refused([], [`${FIXTURES}/misspelt-nested-key.yaml`])).toContain(
      "at '/kafka': additional properties 'broker' not allowed",
    );
  });

  test("a wrong type fails with the schema's error", () => {
    expect(refused([], [`${FIXTURES}/wrong-type.yaml`])).toContain(
      "at '/partitions': got string, want integer",
    );
  });

  test("a token in the values is refused: only the name of an existing Secret is accepted", () => {
    expect(refused([], [`${FIXTURES}/plaintext-token.yaml`])).toContain(
      "at '/adminToken': additional properties 'value' not allowed",
    );
  });
});

describe("one source of truth with observability/", () => {
  const ruleFiles = [...new Glob("observability/prometheus/*.rules.yml").scanSync(REPO)].sort();
  const dashboards = [...new Glob("observability/grafana/dashboards/*.json").scanSync(REPO)].sort();

  test("each rule file becomes one PrometheusRule carrying exactly its groups", () => {
    const { objects } = rendering("everything");
    const rules = byKind(objects, "PrometheusRule");
    expect(rules.map((r) => r.metadata.annotations?.["coelho-realtime/source"]).sort()).toEqual(
      ruleFiles,
    );
    for (const rule of rules) {
      const source = rule.metadata.annotations?.["coelho-realtime/source"] ?? "";
      const file = parse(readFileSync(join(REPO, source), "utf8"));
      expect(rule.spec.groups).toEqual(file.groups);
    }
  });

  test("each dashboard becomes one ConfigMap with the sidecar label and exactly its JSON", () => {
    const { objects } = rendering("everything");
    const maps = byKind(objects, "ConfigMap").filter(
      (c) => c.metadata.labels?.grafana_dashboard === "1",
    );
    expect(maps.map((m) => m.metadata.annotations?.["coelho-realtime/source"]).sort()).toEqual(
      dashboards,
    );
    for (const map of maps) {
      const source = map.metadata.annotations?.["coelho-realtime/source"] ?? "";
      expect(map.data[basename(source)]).toBe(readFileSync(join(REPO, source), "utf8"));
    }
  });

  test("helm package carries the same files (it follows the chart's link)", () => {
    const dir = mkdtempSync(join(tmpdir(), "coelho-chart-"));
    try {
      const pack = run([helm, "package", CHART, "--destination", dir]);
      expect(`exit ${pack.exitCode} ${helmErrors(pack.stderr)}`).toBe("exit 0 ");
      const archive = `${dir}/coelho-realtime-0.1.0.tgz`;
      const listing = run(["tar", "-tzf", archive]).stdout.split("\n");
      for (const file of [...ruleFiles, ...dashboards]) {
        const inChart = `coelho-realtime/files/${file}`;
        expect(listing).toContain(inChart);
        expect(run(["tar", "-xzOf", archive, inChart]).stdout).toBe(
          readFileSync(join(REPO, file), "utf8"),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("NOTES.txt", () => {
  // `helm install --dry-run` needs a cluster; a copy of the chart with one template that includes
  // NOTES.txt renders it offline.
  test.each(["default", "prod"])(
    "%s: renders the commands to watch, reach and test the release",
    (name) => {
      const dir = mkdtempSync(join(tmpdir(), "coelho-notes-"));
      try {
        for (const f of ["Chart.yaml", "values.yaml", "values.schema.json", "templates"]) {
          cpSync(join(CHART, f), join(dir, f), { recursive: true });
        }
        writeFileSync(
          join(dir, "templates/notes-check.yaml"),
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "coelho-realtime/templates/NOTES.txt" . | quote }}\n',
        );
        const values = name === "prod" ? ["--values", envValues("prod")] : [];
        const r = run([
          helm,
          "template",
          "coelho-realtime",
          dir,
          "-n",
          "coelho-x",
          ...values,
          "--show-only",
          "templates/notes-check.yaml",
        ]);
        expect(`exit ${r.exitCode} ${r.stderr}`).toBe("exit 0 ");
        const notes = parse(r.stdout).data.notes as string;
        expect(notes).toContain("kubectl -n coelho-x rollout status statefulset/coelho-realtime");
        expect(notes).toContain("helm test coelho-realtime -n coelho-x");
        if (name === "prod") expect(notes).toContain("3 to 12 pods, scaled by KEDA");
        else expect(notes).toContain("embedded log, one pod");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("values.yaml", () => {
  test("every value is documented by a comment that starts with its key", () => {
    const lines = readFileSync(`${CHART}/values.yaml`, "utf8").split("\n");
    const stack: { indent: number; key: string }[] = [];
    const keys: { path: string; line: number; documented: boolean }[] = [];
    lines.forEach((text, i) => {
      const m = /^( *)([A-Za-z0-9_]+):/.exec(text);
      if (!m) return;
      const indent = m[1]?.length ?? 0;
      while (stack.length > 0 && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
      const path = [...stack.map((s) => s.key), m[2]].join(".");
      stack.push({ indent, key: m[2] ?? "" });
      let j = i - 1;
      let documented = false;
      while (j >= 0 && /^\s*#/.test(lines[j] ?? "")) {
        if ((lines[j] ?? "").trim().startsWith(`# ${path} -- `)) documented = true;
        j--;
      }
      keys.push({ path, line: i + 1, documented });
    });
    // A key is documented itself, or is a group whose every key is.
    const undocumented = keys.filter(
      (k) =>
        !k.documented &&
        !keys.some((c) => c.path.startsWith(`${k.path}.`)) &&
        !keys.some((p) => p.documented && k.path.startsWith(`${p.path}.`)),
    );
    expect(undocumented.map((k) => `line ${k.line}: ${k.path}`)).toEqual([]);
    expect(keys.length).toBeGreaterThan(50);
  });
});
