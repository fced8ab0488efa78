// Proves that every check can fail: each case breaks one thing in a copy of the real
// manifests (in memory) and expects that check to report it. Run by `make deploy-check`.

import { readFileSync } from "node:fs";
import { checkDashboard, dashboardFile, expressions, metricNames } from "./dashboard.mjs";
import { runSuite } from "./suite.mjs";
import { loadWorld } from "./world.mjs";

const O = "linode";
const find = (w, kind, name, overlay = O) => {
  const o = w.overlays[overlay].find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`selftest: no ${kind}/${name} in ${overlay}`);
  return o;
};
const c0 = (w, dep) => find(w, "Deployment", `taskstream-${dep}`).spec.template.spec.containers[0];
const cm = (w) => find(w, "ConfigMap", "taskstream-config");
const drop = (w, pred, overlay = O) => {
  w.overlays[overlay] = w.overlays[overlay].filter((x) => !pred(x));
};
// "${x}" as Terraform writes it, without a template literal.
const tpl = (x) => `$${"{"}${x}}`;
const tfm = (w, suffix) => w.tf[Object.keys(w.tf).find((d) => d.endsWith(suffix))];

const cases = [
  [
    "probes",
    "ingest without readinessProbe",
    (w) => {
      delete c0(w, "ingest").readinessProbe;
    },
  ],
  [
    "probes",
    "liveness on /health instead of /healthz",
    (w) => {
      c0(w, "processors").livenessProbe.httpGet.path = "/health";
    },
  ],
  [
    "probes",
    "fanout declares port 9090 while FANOUT_PORT=8090",
    (w) => {
      c0(w, "fanout").ports[0].containerPort = 9090;
    },
  ],
  [
    "probes",
    "probe on a port name the container does not declare",
    (w) => {
      c0(w, "scheduler").readinessProbe.httpGet.port = "metrics";
    },
  ],
  [
    "probes",
    "INGEST_PORT changed in the ConfigMap only",
    (w) => {
      cm(w).data.INGEST_PORT = "9999";
    },
  ],
  [
    "resources",
    "scheduler without a memory limit",
    (w) => {
      delete c0(w, "scheduler").resources.limits.memory;
    },
  ],
  [
    "resources",
    "migrate Job without resources",
    (w) => {
      delete find(w, "Job", "taskstream-migrate").spec.template.spec.containers[0].resources;
    },
  ],
  [
    "images",
    "image :latest",
    (w) => {
      c0(w, "ingest").image = "registry.example.com/taskstream/taskstream:latest";
    },
  ],
  [
    "images",
    "image without tag",
    (w) => {
      c0(w, "ingest").image = "registry.example.com/taskstream/taskstream";
    },
  ],
  [
    "security-context",
    "pod may run as root",
    (w) => {
      find(w, "Deployment", "taskstream-fanout").spec.template.spec.securityContext.runAsNonRoot = false;
    },
  ],
  [
    "security-context",
    "writable root filesystem",
    (w) => {
      c0(w, "ingest").securityContext.readOnlyRootFilesystem = false;
    },
  ],
  [
    "graceful-shutdown",
    "SHUTDOWN_TIMEOUT_MS=60000 > grace period",
    (w) => {
      cm(w).data.SHUTDOWN_TIMEOUT_MS = "60000";
    },
  ],
  [
    "graceful-shutdown",
    "fanout terminationGracePeriodSeconds 20 < 20 s drain + 5 s preStop",
    (w) => {
      find(w, "Deployment", "taskstream-fanout").spec.template.spec.terminationGracePeriodSeconds = 20;
    },
  ],
  [
    "network-policies",
    "no NetworkPolicies at all",
    (w) => {
      drop(w, (x) => x.kind === "NetworkPolicy" && x.metadata.namespace === "taskstream");
    },
  ],
  [
    "network-policies",
    "no default-deny",
    (w) => {
      drop(w, (x) => x.kind === "NetworkPolicy" && x.metadata.name === "default-deny");
    },
  ],
  [
    "network-policies",
    "processors opened to the ingress controller",
    (w) => {
      find(w, "NetworkPolicy", "allow-public-from-ingress-controller").spec.podSelector.matchExpressions[0].values.push("processors");
    },
  ],
  [
    "pdb-hpa",
    "fanout without HPA",
    (w) => {
      drop(w, (x) => x.kind === "HorizontalPodAutoscaler" && x.metadata.name === "taskstream-fanout");
    },
  ],
  [
    "pdb-hpa",
    "processors HPA beyond the task-events partitions",
    (w) => {
      find(w, "HorizontalPodAutoscaler", "taskstream-processors").spec.maxReplicas = 12;
    },
  ],
  [
    "pdb-hpa",
    "scheduler without PDB",
    (w) => {
      drop(w, (x) => x.kind === "PodDisruptionBudget" && x.metadata.name === "taskstream-scheduler");
    },
  ],
  [
    "hpa-replicas",
    "ingest sets replicas while its HPA scales it",
    (w) => {
      find(w, "Deployment", "taskstream-ingest").spec.replicas = 2;
    },
  ],
  [
    "db-connections",
    "fanout back to the default pool of 10 at 20 replicas",
    (w) => {
      c0(w, "fanout").env = c0(w, "fanout").env.filter((e) => e.name !== "DATABASE_POOL_SIZE");
    },
  ],
  [
    "ingress-websocket",
    "/api/ws routed to ingest",
    (w) => {
      find(w, "Ingress", "taskstream").spec.rules[0].http.paths[0].backend.service.name = "taskstream-ingest";
    },
  ],
  [
    "ingress-websocket",
    "cookie affinity",
    (w) => {
      find(w, "Ingress", "taskstream").metadata.annotations["nginx.ingress.kubernetes.io/affinity"] = "cookie";
    },
  ],
  [
    "ingress-websocket",
    "60 s proxy read timeout",
    (w) => {
      find(w, "Ingress", "taskstream").metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "60";
    },
  ],
  [
    "services",
    "fanout Service missing",
    (w) => {
      drop(w, (x) => x.kind === "Service" && x.metadata.name === "taskstream-fanout");
    },
  ],
  [
    "config-and-secrets",
    "a Secret committed in the linode overlay",
    (w) => {
      w.overlays[O].push({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "taskstream-secrets", namespace: "taskstream" },
        stringData: { JWT_SECRET: "x" },
      });
    },
  ],
  [
    "config-and-secrets",
    "DATABASE_URL in the ConfigMap",
    (w) => {
      cm(w).data.DATABASE_URL = "postgres://u:p@db/x";
    },
  ],
  [
    "topics",
    "misspelt topic in an env var",
    (w) => {
      const c = c0(w, "processors");
      c.env = [...(c.env ?? []), { name: "TASK_EVENTS_TOPIC", value: "task-event" }];
    },
  ],
  [
    "topics",
    "Topic object not in topics.json",
    (w) => {
      w.overlays[O].push({
        apiVersion: "cluster.redpanda.com/v1alpha2",
        kind: "Topic",
        metadata: { name: "task-evts" },
        spec: { partitions: 6 },
      });
    },
  ],
  [
    "topics",
    "no topics Job",
    (w) => {
      drop(w, (x) => x.kind === "Job" && x.metadata.name === "taskstream-topics");
    },
  ],
  [
    "topics",
    "replication factor 1 in production",
    (w) => {
      cm(w).data.TOPIC_REPLICATION_FACTOR = "1";
    },
  ],
  [
    "redis-durability",
    "Redis without AOF",
    (w) => {
      const c = find(w, "ConfigMap", "taskstream-redis");
      c.data["redis.conf"] = c.data["redis.conf"].replace("appendonly yes", "appendonly no");
    },
  ],
  [
    "redis-durability",
    "Redis evicting keys",
    (w) => {
      const c = find(w, "ConfigMap", "taskstream-redis");
      c.data["redis.conf"] = c.data["redis.conf"].replace("noeviction", "allkeys-lru");
    },
  ],
  [
    "redis-auth",
    "Redis without a password",
    (w) => {
      const s = find(w, "StatefulSet", "taskstream-redis");
      s.spec.template.spec.containers[0].args = ["/etc/redis/redis.conf"];
    },
  ],
  [
    "redis-auth",
    "Redis with protected mode off",
    (w) => {
      const c = find(w, "ConfigMap", "taskstream-redis");
      c.data["redis.conf"] = c.data["redis.conf"].replace("protected-mode yes", "protected-mode no");
    },
  ],
  [
    "schema",
    "replicas is a string",
    (w) => {
      find(w, "Deployment", "taskstream-ingest").spec.replicas = "two";
    },
  ],
  [
    "schema",
    "container without name",
    (w) => {
      delete c0(w, "ingest").name;
    },
  ],
  [
    "schema",
    "kind with no schema",
    (w) => {
      w.overlays[O].push({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } });
    },
  ],
  [
    "schema",
    "CNPG Cluster with a misspelt field",
    (w) => {
      find(w, "Cluster", "taskstream-pg").spec.instance = 3;
    },
  ],
  [
    "redpanda-values",
    "topic auto-creation on",
    (w) => {
      w.values.config.cluster.auto_create_topics_enabled = true;
    },
  ],
  [
    "redpanda-values",
    "one broker",
    (w) => {
      w.values.statefulset.replicas = 1;
    },
  ],
  [
    "redpanda-values",
    "stray topic name in compose",
    (w) => {
      w.compose.services.processors.environment.TOPIC_TASK_EVENTS = "task-evnts";
    },
  ],
  [
    "compose-services",
    "Redis without AOF in compose",
    (w) => {
      w.compose.services.redis.command = ["redis-server"];
    },
  ],
  [
    "compose-services",
    "Redis without a password in compose",
    (w) => {
      w.compose.services.redis.command = w.compose.services.redis.command.filter(
        (a, i, all) => a !== "--requirepass" && all[i - 1] !== "--requirepass",
      );
    },
  ],
  [
    "compose-services",
    "fanout runs the wrong process",
    (w) => {
      w.compose.services.fanout.command = ["ingest"];
    },
  ],
  [
    "compose-services",
    "app starts before migrations",
    (w) => {
      delete w.compose.services.ingest.depends_on.migrate;
    },
  ],
  [
    "compose-shutdown",
    "stop_grace_period below the drain",
    (w) => {
      w.compose.services.fanout.stop_grace_period = "5s";
    },
  ],
  [
    "compose-images",
    "redpanda:latest",
    (w) => {
      w.compose.services.redpanda.image = "docker.redpanda.com/redpandadata/redpanda:latest";
    },
  ],
  [
    "dockerfile-lint",
    "misspelt instruction",
    (w) => {
      w.dockerfile = w.dockerfile.replace("WORKDIR /app", "WORKDIRR /app");
    },
  ],
  [
    "dockerfile-lint",
    "EXPOSE with a bad port",
    (w) => {
      w.dockerfile = w.dockerfile.replace("EXPOSE 8080", "EXPOSE 80a80");
    },
  ],
  [
    "dockerfile-rules",
    "no USER",
    (w) => {
      w.dockerfile = w.dockerfile.replace(/^USER .*$/m, "");
    },
  ],
  [
    "dockerfile-rules",
    "USER root",
    (w) => {
      w.dockerfile = w.dockerfile.replace(/^USER .*$/m, "USER root");
    },
  ],
  [
    "dockerfile-rules",
    "no HEALTHCHECK",
    (w) => {
      w.dockerfile = w.dockerfile.replace(/^HEALTHCHECK[\s\S]*?healthcheck\.mjs"\]\n/m, "");
    },
  ],
  [
    "dockerfile-rules",
    "unpinned base image",
    (w) => {
      w.dockerfile = w.dockerfile.replace(/^ARG NODE_IMAGE=.*$/m, "ARG NODE_IMAGE=node:latest");
    },
  ],
  [
    "dockerfile-rules",
    "shell-form ENTRYPOINT",
    (w) => {
      w.dockerfile = w.dockerfile.replace(/^ENTRYPOINT .*$/m, "ENTRYPOINT node --import tsx bin/taskstream.ts");
    },
  ],
  [
    "dockerfile-rules",
    "production runs TypeScript through tsx",
    (w) => {
      w.dockerfile = w.dockerfile.replace(
        /^ENTRYPOINT .*$/m,
        'ENTRYPOINT ["/usr/bin/tini", "--", "node", "--import", "tsx", "dist/bin/taskstream.js"]',
      );
    },
  ],
  [
    "dockerfile-rules",
    "Node 20 base image",
    (w) => {
      w.dockerfile = w.dockerfile.replace(/^ARG NODE_IMAGE=.*$/m, "ARG NODE_IMAGE=node:20.20.2-bookworm-slim");
    },
  ],
  [
    "dockerfile-rules",
    "static librdkafka build",
    (w) => {
      w.dockerfile = w.dockerfile.replace("ENV CKJS_LINKING=dynamic", "");
    },
  ],
  [
    "dockerignore",
    "node_modules sent to the daemon",
    (w) => {
      w.dockerignore = w.dockerignore.replace("**/node_modules\n", "");
    },
  ],
  [
    "dockerignore",
    "health check script excluded",
    (w) => {
      w.dockerignore = w.dockerignore.replace("!deploy/healthcheck.mjs\n", "");
    },
  ],
  [
    "tf-variables",
    "variable without description",
    (w) => {
      delete tfm(w, "examples/linode").variable.image[0].description;
    },
  ],
  [
    "tf-variables",
    "jwt_secret not sensitive",
    (w) => {
      delete tfm(w, "examples/civo").variable.jwt_secret[0].sensitive;
    },
  ],
  [
    "tf-variables",
    "required example input without validation",
    (w) => {
      delete tfm(w, "examples/civo").variable.api_allowed_cidrs[0].validation;
    },
  ],
  [
    "tf-outputs",
    "example without api_url",
    (w) => {
      delete tfm(w, "examples/linode").output.api_url;
    },
  ],
  [
    "tf-outputs",
    "token output not sensitive",
    (w) => {
      delete tfm(w, "modules/cluster-linode").output.token[0].sensitive;
    },
  ],
  [
    "tf-modules",
    "module passes an undeclared argument",
    (w) => {
      tfm(w, "examples/linode").module.app[0].imagee = tpl("var.image");
    },
  ],
  [
    "tf-modules",
    "module misses a required argument",
    (w) => {
      delete tfm(w, "examples/civo").module.cluster[0].api_allowed_cidrs;
    },
  ],
  [
    "tf-modules",
    "reference to a missing module output",
    (w) => {
      tfm(w, "examples/linode").module.app[0].kafka_brokers = tpl("module.platform.brokers");
    },
  ],
  [
    "tf-providers",
    "example with a range instead of a pin",
    (w) => {
      tfm(w, "examples/linode").terraform[0].required_providers[0].helm.version = "~> 2.17";
    },
  ],
  [
    "tf-providers",
    "module constraint excluding the pinned version",
    (w) => {
      tfm(w, "modules/platform").terraform[0].required_providers[0].helm.version = ">= 3.0.0, < 4.0.0";
    },
  ],
  [
    "tf-files",
    "values file path that does not exist",
    (w) => {
      tfm(w, "examples/civo").module.platform[0].redpanda_values_file = `${tpl("path.module")}/../../../redpanda/helm/value.yaml`;
    },
  ],
];

const pristine = await loadWorld({ kustomize: process.env.KUSTOMIZE || "kustomize" });
let passed = 0,
  failed = 0;
for (const [check, what, mutate] of cases) {
  const w = structuredClone(pristine);
  mutate(w);
  const res = runSuite(w, check).filter((r) => r.failures.length);
  if (res.length) {
    passed++;
    console.log(`ok   ${check.padEnd(20)} catches: ${what}  (${res[0].failures[0].slice(0, 110)})`);
  } else {
    failed++;
    console.log(`FAIL ${check.padEnd(20)} did NOT catch: ${what}`);
  }
}
// The dashboard check (deploy/checks/dashboard-stack.sh): against an exposition offering exactly
// the dashboard's metrics it passes; each break must be reported.
const dashText = readFileSync(dashboardFile, "utf8");
const dash = JSON.parse(dashText);
const exposition = [...new Set(expressions(dash).flatMap((e) => metricNames(e.expr)))].map((n) => `${n} 1`).join("\n");
const dashCases = [
  ["the real dashboard, every metric exposed (must pass)", dashText, exposition, dashText, false],
  [
    "a panel naming a metric nobody exposes",
    dashText.replace("taskstream_outbox_depth", "taskstream_outbox_size"),
    exposition,
    undefined,
    true,
  ],
  [
    "an exposition missing the event-loop metric",
    dashText,
    exposition.replace("taskstream_nodejs_eventloop_lag_p99_seconds 1", ""),
    dashText,
    true,
  ],
  ["the k8s component's copy drifted", dashText, exposition, dashText.replace('"taskstream"', '"taskstream-old"'), true],
  ["no datasource input", JSON.stringify({ ...dash, __inputs: [] }), exposition, undefined, true],
];
for (const [what, text, metrics, copy, mustFail] of dashCases) {
  const { failures } = checkDashboard(text, [metrics], copy);
  if (failures.length > 0 === mustFail) {
    passed++;
    console.log(
      `ok   ${"dashboard".padEnd(20)} ${mustFail ? "catches" : "accepts"}: ${what}${failures[0] ? `  (${failures[0].slice(0, 110)})` : ""}`,
    );
  } else {
    failed++;
    console.log(`FAIL ${"dashboard".padEnd(20)} ${mustFail ? "did NOT catch" : "refused"}: ${what} ${failures.join("; ").slice(0, 200)}`);
  }
}
console.log(`deploy-selftest: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
