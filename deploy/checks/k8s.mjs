// Checks on the rendered objects of the k8s/ overlays. Each check has an id, and returns
// a list of failure messages (empty = pass). selftest.mjs breaks the manifests on purpose
// and expects the matching check to fail, so every check is known to be able to fail.

const APP = "taskstream";
export const PROCESS_PORT_ENV = {
  ingest: "INGEST_PORT",
  processors: "PROCESSORS_PORT",
  scheduler: "SCHEDULER_PORT",
  fanout: "FANOUT_PORT",
};
const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]);

export function podSpecOf(obj) {
  if (obj.kind === "CronJob") return obj.spec?.jobTemplate?.spec?.template?.spec;
  return obj.spec?.template?.spec;
}
const id = (o) => `${o.kind}/${o.metadata?.namespace ?? "-"}/${o.metadata?.name}`;
const workloads = (objs) => objs.filter((o) => WORKLOAD_KINDS.has(o.kind));
const appDeployments = (objs) => objs.filter((o) => o.kind === "Deployment" && o.metadata?.labels?.["app.kubernetes.io/name"] === APP);
const componentOf = (o) =>
  o.spec?.template?.metadata?.labels?.["app.kubernetes.io/component"] ?? o.metadata?.labels?.["app.kubernetes.io/component"];
const configMap = (objs) => objs.find((o) => o.kind === "ConfigMap" && o.metadata?.name === "taskstream-config");

/** Value of env var `name` for a container: explicit env first, then envFrom ConfigMaps. */
export function envValue(objs, container, name) {
  const direct = (container.env ?? []).find((e) => e.name === name);
  if (direct) return direct.value ?? (direct.valueFrom ? "<from-ref>" : undefined);
  for (const src of container.envFrom ?? []) {
    if (src.configMapRef) {
      const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata?.name === src.configMapRef.name);
      if (cm?.data && name in cm.data) return cm.data[name];
    }
  }
  return undefined;
}

function resolvePort(container, port) {
  if (typeof port === "number") return (container.ports ?? []).some((p) => p.containerPort === port) ? port : undefined;
  return (container.ports ?? []).find((p) => p.name === port)?.containerPort;
}

function labelsMatch(selector, labels = {}) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = (k) => k in labels;
    if (e.operator === "In" && !(has(e.key) && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has(e.key) && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has(e.key)) return false;
    if (e.operator === "DoesNotExist" && has(e.key)) return false;
  }
  return true;
}

export const checks = [
  {
    id: "probes",
    title: "every taskstream Deployment has liveness /healthz and readiness /readyz on its declared port, which is its *_PORT setting",
    run(objs) {
      const out = [];
      const deps = appDeployments(objs);
      if (deps.length === 0) out.push("no taskstream Deployments rendered");
      for (const d of deps) {
        const pod = podSpecOf(d);
        for (const c of pod.containers) {
          const live = c.livenessProbe?.httpGet;
          const ready = c.readinessProbe?.httpGet;
          if (!live) out.push(`${id(d)} container ${c.name}: no httpGet livenessProbe`);
          else if (live.path !== "/healthz") out.push(`${id(d)} container ${c.name}: livenessProbe path ${live.path}, want /healthz`);
          if (!ready) out.push(`${id(d)} container ${c.name}: no httpGet readinessProbe`);
          else if (ready.path !== "/readyz") out.push(`${id(d)} container ${c.name}: readinessProbe path ${ready.path}, want /readyz`);
          const lp = live && resolvePort(c, live.port);
          const rp = ready && resolvePort(c, ready.port);
          if (live && lp === undefined)
            out.push(`${id(d)} container ${c.name}: livenessProbe port ${live.port} is not a declared containerPort`);
          if (ready && rp === undefined)
            out.push(`${id(d)} container ${c.name}: readinessProbe port ${ready.port} is not a declared containerPort`);
          const proc = (c.args ?? []).find((a) => a in PROCESS_PORT_ENV);
          if (!proc) {
            out.push(`${id(d)} container ${c.name}: args ${JSON.stringify(c.args)} name no process`);
            continue;
          }
          const want = Number(envValue(objs, c, PROCESS_PORT_ENV[proc]));
          if (!Number.isInteger(want)) out.push(`${id(d)}: ${PROCESS_PORT_ENV[proc]} is not set for ${proc}`);
          else
            for (const [what, p] of [
              ["liveness", lp],
              ["readiness", rp],
            ]) {
              if (p !== undefined && p !== want)
                out.push(`${id(d)}: ${what} probe on port ${p} but ${PROCESS_PORT_ENV[proc]}=${want} (the process listens there)`);
            }
        }
      }
      return out;
    },
  },
  {
    id: "resources",
    title: "every container (and init container) has cpu and memory requests and limits",
    run(objs) {
      const out = [];
      for (const w of workloads(objs)) {
        const pod = podSpecOf(w);
        for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
          for (const kind of ["requests", "limits"])
            for (const r of ["cpu", "memory"]) {
              if (!c.resources?.[kind]?.[r]) out.push(`${id(w)} container ${c.name}: no resources.${kind}.${r}`);
            }
        }
      }
      return out;
    },
  },
  {
    id: "images",
    title: "images carry a tag or digest, never :latest",
    run(objs) {
      const out = [];
      for (const w of workloads(objs)) {
        const pod = podSpecOf(w);
        for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
          const img = c.image ?? "";
          const last = img.split("/").pop();
          if (!img.includes("@sha256:") && !last.includes(":")) out.push(`${id(w)} container ${c.name}: image ${img} has no tag`);
          if (/:latest(@|$)/.test(img)) out.push(`${id(w)} container ${c.name}: image ${img} uses :latest`);
        }
      }
      for (const o of objs)
        if (o.kind === "Cluster" && /:latest$/.test(o.spec?.imageName ?? "")) out.push(`${id(o)}: imageName uses :latest`);
      return out;
    },
  },
  {
    id: "security-context",
    title: "pods run as non-root, without privilege escalation, with a read-only root filesystem",
    run(objs) {
      const out = [];
      for (const w of workloads(objs)) {
        const pod = podSpecOf(w);
        for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
          const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
          const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
          if (nonRoot !== true) out.push(`${id(w)} container ${c.name}: runAsNonRoot is not true`);
          if (uid === 0) out.push(`${id(w)} container ${c.name}: runAsUser 0`);
          if (c.securityContext?.allowPrivilegeEscalation !== false)
            out.push(`${id(w)} container ${c.name}: allowPrivilegeEscalation is not false`);
          if (c.securityContext?.readOnlyRootFilesystem !== true)
            out.push(`${id(w)} container ${c.name}: readOnlyRootFilesystem is not true`);
          if (c.securityContext?.privileged) out.push(`${id(w)} container ${c.name}: privileged`);
        }
      }
      return out;
    },
  },
  {
    id: "graceful-shutdown",
    title: "SHUTDOWN_TIMEOUT_MS + preStop sleep < terminationGracePeriodSeconds * 1000 for every taskstream pod",
    run(objs) {
      const out = [];
      for (const w of workloads(objs).filter((o) => o.metadata?.labels?.["app.kubernetes.io/name"] === APP)) {
        const pod = podSpecOf(w);
        const grace = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
        for (const c of pod.containers) {
          const raw = envValue(objs, c, "SHUTDOWN_TIMEOUT_MS");
          const drain = raw === undefined ? 10000 : Number(raw);
          if (!Number.isFinite(drain)) {
            out.push(`${id(w)}: SHUTDOWN_TIMEOUT_MS=${raw} is not a number`);
            continue;
          }
          const cmd = c.lifecycle?.preStop?.exec?.command ?? [];
          const sleepS = c.lifecycle?.preStop?.sleep?.seconds ?? (cmd[0] === "sleep" ? Number(cmd[1]) : 0);
          const total = drain + sleepS * 1000;
          if (!(total < grace))
            out.push(
              `${id(w)} container ${c.name}: drain ${drain} ms + preStop ${sleepS} s = ${total} ms is not below terminationGracePeriodSeconds ${grace / 1000} s`,
            );
        }
      }
      return out;
    },
  },
  {
    id: "network-policies",
    title: "default-deny in the taskstream namespace; only ingest and fanout reachable from the ingress controller",
    run(objs) {
      const out = [];
      const nps = objs.filter((o) => o.kind === "NetworkPolicy" && o.metadata?.namespace === APP);
      if (nps.length === 0) return ["no NetworkPolicy in namespace taskstream"];
      const deny = nps.find(
        (n) =>
          Object.keys(n.spec?.podSelector ?? { x: 1 }).length === 0 &&
          (n.spec?.policyTypes ?? []).includes("Ingress") &&
          !n.spec?.ingress?.length,
      );
      if (!deny) out.push("no default-deny ingress NetworkPolicy (empty podSelector, policyTypes Ingress, no rules) in taskstream");
      const metricsPorts = new Set([8081, 8082]);
      for (const np of nps) {
        for (const rule of np.spec?.ingress ?? []) {
          const fromOutside = (rule.from ?? [{}]).some((f) => f.namespaceSelector || f.ipBlock || Object.keys(f).length === 0);
          if (!fromOutside) continue;
          const fromMonitoring = (rule.from ?? []).every(
            (f) => f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "monitoring",
          );
          if (fromMonitoring) continue;
          // which app pods does it open?
          for (const d of appDeployments(objs)) {
            const labels = d.spec.template.metadata.labels;
            if (!labelsMatch(np.spec.podSelector, labels) && Object.keys(np.spec.podSelector ?? {}).length) continue;
            const comp = labels["app.kubernetes.io/component"];
            if (!["ingest", "fanout"].includes(comp))
              out.push(
                `NetworkPolicy ${np.metadata.name} opens ${comp} to traffic from outside the namespace (only ingest and fanout may be public)`,
              );
          }
          for (const p of rule.ports ?? [])
            if (metricsPorts.has(p.port))
              out.push(`NetworkPolicy ${np.metadata.name} opens metrics port ${p.port} beyond the monitoring namespace`);
        }
      }
      return out;
    },
  },
  {
    id: "pdb-hpa",
    title: "a PodDisruptionBudget per Deployment; HPAs for fanout and processors; processors never scale beyond task-events partitions",
    run(objs, ctx) {
      const out = [];
      const pdbs = objs.filter((o) => o.kind === "PodDisruptionBudget");
      const hpas = objs.filter((o) => o.kind === "HorizontalPodAutoscaler");
      for (const d of appDeployments(objs)) {
        if (
          !pdbs.some((p) => p.metadata.namespace === d.metadata.namespace && labelsMatch(p.spec.selector, d.spec.template.metadata.labels))
        )
          out.push(`${id(d)} has no PodDisruptionBudget`);
      }
      for (const comp of ["fanout", "processors"]) {
        const d = appDeployments(objs).find((x) => componentOf(x) === comp);
        if (!d) {
          out.push(`no ${comp} Deployment`);
          continue;
        }
        const h = hpas.find((x) => x.spec.scaleTargetRef?.kind === "Deployment" && x.spec.scaleTargetRef?.name === d.metadata.name);
        if (!h) out.push(`${comp} has no HorizontalPodAutoscaler`);
      }
      for (const h of hpas) {
        const target = objs.find((o) => o.kind === h.spec.scaleTargetRef?.kind && o.metadata.name === h.spec.scaleTargetRef?.name);
        if (!target) out.push(`HPA ${h.metadata.name} targets missing ${h.spec.scaleTargetRef?.kind}/${h.spec.scaleTargetRef?.name}`);
        if (h.spec.minReplicas > h.spec.maxReplicas) out.push(`HPA ${h.metadata.name}: minReplicas > maxReplicas`);
        if (target && componentOf(target) === "processors") {
          const parts = ctx.topics.taskEvents?.partitions;
          if (parts && h.spec.maxReplicas > parts)
            out.push(
              `HPA ${h.metadata.name}: maxReplicas ${h.spec.maxReplicas} > ${parts} partitions of ${ctx.topics.taskEvents.name} (extra consumers would sit idle)`,
            );
        }
      }
      return out;
    },
  },
  {
    id: "hpa-replicas",
    title: "no Deployment an HPA scales sets spec.replicas (a re-apply would conflict with the HPA's count)",
    run(objs) {
      const out = [];
      for (const h of objs.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
        const ref = h.spec?.scaleTargetRef ?? {};
        const d = objs.find(
          (o) => o.kind === ref.kind && o.metadata?.name === ref.name && (o.metadata?.namespace ?? "") === (h.metadata?.namespace ?? ""),
        );
        if (d && d.spec?.replicas !== undefined)
          out.push(
            `${id(d)} sets spec.replicas ${d.spec.replicas} while HPA ${h.metadata.name} scales it: leave the count to the HPA's minReplicas`,
          );
      }
      return out;
    },
  },
  {
    id: "db-connections",
    title:
      "PostgreSQL connections at the HPA maxima (replicas x DATABASE_POOL_SIZE, +1 LISTEN per scheduler) fit the CNPG max_connections with 20 to spare",
    run(objs) {
      const pg = objs.find((o) => o.kind === "Cluster" && o.metadata?.name === "taskstream-pg");
      if (!pg) return []; // managed PostgreSQL: its limit is not in the manifests
      const max = Number(pg.spec?.postgresql?.parameters?.max_connections ?? 100);
      const hpas = objs.filter((o) => o.kind === "HorizontalPodAutoscaler");
      let sum = 0;
      const parts = [];
      for (const d of appDeployments(objs)) {
        const h = hpas.find((x) => x.spec.scaleTargetRef?.kind === "Deployment" && x.spec.scaleTargetRef?.name === d.metadata.name);
        const replicas = h ? h.spec.maxReplicas : (d.spec.replicas ?? 1);
        for (const c of podSpecOf(d).containers) {
          const pool = Number(envValue(objs, c, "DATABASE_POOL_SIZE") ?? 10) + (componentOf(d) === "scheduler" ? 1 : 0);
          sum += replicas * pool;
          parts.push(`${componentOf(d)} ${replicas}x${pool}`);
        }
      }
      return sum > max - 20 ? [`${parts.join(" + ")} = ${sum} connections > max_connections ${max} - 20 reserved`] : [];
    },
  },
  {
    id: "ingress-websocket",
    title: "Ingress routes /api/ws to fanout and /api to ingest, with long timeouts and no session affinity",
    run(objs) {
      const out = [];
      const ings = objs.filter((o) => o.kind === "Ingress");
      if (ings.length === 0) return ["no Ingress"];
      const paths = ings.flatMap((i) => (i.spec.rules ?? []).flatMap((r) => r.http?.paths ?? []));
      const svcFor = (p) => paths.find((x) => x.path === p)?.backend?.service;
      const ws = svcFor("/api/ws");
      const api = svcFor("/api");
      const svc = (name) => objs.find((o) => o.kind === "Service" && o.metadata.name === name);
      if (!ws) out.push("no Ingress path /api/ws");
      else if (componentOf(svc(ws.name) ?? {}) !== "fanout") out.push(`/api/ws goes to ${ws.name}, not the fanout Service`);
      if (!api) out.push("no Ingress path /api");
      else if (componentOf(svc(api.name) ?? {}) !== "ingest") out.push(`/api goes to ${api.name}, not the ingest Service`);
      for (const p of paths) {
        const s = svc(p.backend?.service?.name);
        if (!s) {
          out.push(`Ingress path ${p.path}: no Service ${p.backend?.service?.name}`);
          continue;
        }
        const port = p.backend.service.port;
        if (!(s.spec.ports ?? []).some((sp) => sp.name === port.name || sp.port === port.number))
          out.push(`Ingress path ${p.path}: Service ${s.metadata.name} has no port ${JSON.stringify(port)}`);
        if (s.spec.sessionAffinity && s.spec.sessionAffinity !== "None")
          out.push(`Service ${s.metadata.name}: sessionAffinity ${s.spec.sessionAffinity} (fan-out must be sticky-free)`);
      }
      for (const i of ings) {
        const a = i.metadata.annotations ?? {};
        if (a["nginx.ingress.kubernetes.io/affinity"] && a["nginx.ingress.kubernetes.io/affinity"] !== "none")
          out.push(`Ingress ${i.metadata.name}: cookie affinity set (fan-out must be sticky-free)`);
        const rt = Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"] ?? 0);
        if (rt < 3600) out.push(`Ingress ${i.metadata.name}: proxy-read-timeout ${rt} s < 3600 s (idle WebSockets would be cut)`);
      }
      return out;
    },
  },
  {
    id: "services",
    title: "every taskstream Deployment has a Service whose targetPort is a declared container port",
    run(objs) {
      const out = [];
      for (const d of appDeployments(objs)) {
        const labels = d.spec.template.metadata.labels;
        const s = objs.find(
          (o) =>
            o.kind === "Service" &&
            o.metadata.namespace === d.metadata.namespace &&
            Object.keys(o.spec.selector ?? {}).length &&
            Object.entries(o.spec.selector).every(([k, v]) => labels[k] === v),
        );
        if (!s) {
          out.push(`${id(d)} has no Service`);
          continue;
        }
        for (const sp of s.spec.ports) {
          if (!d.spec.template.spec.containers.some((c) => resolvePort(c, sp.targetPort ?? sp.port) !== undefined))
            out.push(`Service ${s.metadata.name} targetPort ${sp.targetPort} is not a port of ${id(d)}`);
        }
      }
      return out;
    },
  },
  {
    id: "config-and-secrets",
    title: "config comes from taskstream-config, secrets from taskstream-secrets; no Secret is committed in the cloud overlays",
    run(objs, ctx) {
      const out = [];
      const cm = configMap(objs);
      if (!cm) return ["no ConfigMap taskstream-config"];
      for (const k of [
        "KAFKA_BROKERS",
        "TOPIC_REPLICATION_FACTOR",
        "SHUTDOWN_TIMEOUT_MS",
        "LOG_LEVEL",
        "HOST",
        ...Object.values(PROCESS_PORT_ENV),
      ])
        if (!(k in (cm.data ?? {}))) out.push(`taskstream-config has no ${k}`);
      for (const k of ["DATABASE_URL", "REDIS_URL", "JWT_SECRET"])
        if (k in (cm.data ?? {})) out.push(`${k} is in the ConfigMap; it belongs in the Secret`);
      for (const d of workloads(objs).filter((o) => o.metadata?.labels?.["app.kubernetes.io/name"] === APP)) {
        for (const c of podSpecOf(d).containers) {
          if (!(c.envFrom ?? []).some((e) => e.secretRef?.name === "taskstream-secrets"))
            out.push(`${id(d)} container ${c.name}: does not load Secret taskstream-secrets`);
          if (!(c.envFrom ?? []).some((e) => e.configMapRef?.name === "taskstream-config"))
            out.push(`${id(d)} container ${c.name}: does not load ConfigMap taskstream-config`);
        }
      }
      if (ctx.overlay !== "local")
        for (const s of objs.filter((o) => o.kind === "Secret"))
          out.push(
            `overlay ${ctx.overlay} renders Secret ${s.metadata.name}: secrets are created out of band (deploy/k8s-apply.sh), never committed`,
          );
      return out;
    },
  },
  {
    id: "topics",
    title: "topic names and the replication factor agree with redpanda/topics.json and redpanda/helm/values.yaml",
    run(objs, ctx) {
      const out = [];
      const names = new Set(Object.values(ctx.topics).map((t) => t.name));
      // 1. Any value under a key mentioning "topic" must be a topic of the file.
      for (const o of objs)
        for (const [path, v] of topicValues(o))
          if (!names.has(v)) out.push(`${id(o)} ${path} = ${JSON.stringify(v)} is not a topic of redpanda/topics.json`);
      // 2. Env vars mentioning TOPIC.
      for (const w of workloads(objs))
        for (const c of podSpecOf(w).containers)
          for (const e of c.env ?? [])
            if (/TOPIC/i.test(e.name) && e.name !== "TOPIC_REPLICATION_FACTOR" && e.value !== undefined && !names.has(e.value))
              out.push(`${id(w)} env ${e.name}=${e.value} is not a topic of redpanda/topics.json`);
      // 3. Operator Topic objects, if any, mirror the file exactly.
      for (const t of objs.filter((o) => o.kind === "Topic")) {
        const name = t.spec?.topicName ?? t.metadata.name;
        const def = Object.values(ctx.topics).find((x) => x.name === name);
        if (!def) out.push(`Topic ${name} is not in redpanda/topics.json`);
        else if (t.spec?.partitions !== undefined && t.spec.partitions !== def.partitions)
          out.push(`Topic ${name}: partitions ${t.spec.partitions} != ${def.partitions} in topics.json`);
      }
      // 4. The topics Job runs the command that reads the file.
      const jobs = objs.filter((o) => o.kind === "Job");
      if (!jobs.some((j) => podSpecOf(j).containers.some((c) => (c.args ?? []).includes("topics"))))
        out.push("no Job runs `taskstream topics` (creates the topics of redpanda/topics.json)");
      if (!jobs.some((j) => podSpecOf(j).containers.some((c) => (c.args ?? []).includes("migrate"))))
        out.push("no Job runs `taskstream migrate`");
      // 5. Replication factor vs. brokers.
      const rf = Number(configMap(objs)?.data?.TOPIC_REPLICATION_FACTOR);
      const brokers = (configMap(objs)?.data?.KAFKA_BROKERS ?? "").split(",").filter(Boolean).length;
      if (ctx.overlay !== "local" && rf !== 3) out.push(`overlay ${ctx.overlay}: TOPIC_REPLICATION_FACTOR=${rf}, production needs 3`);
      if (ctx.redpandaReplicas && rf > ctx.redpandaReplicas && ctx.overlay !== "local")
        out.push(`TOPIC_REPLICATION_FACTOR=${rf} > ${ctx.redpandaReplicas} Redpanda brokers in redpanda/helm/values.yaml`);
      if (rf > brokers) out.push(`TOPIC_REPLICATION_FACTOR=${rf} > ${brokers} brokers listed in KAFKA_BROKERS`);
      return out;
    },
  },
  {
    id: "redis-durability",
    title: "in-cluster Redis keeps BullMQ jobs: appendonly yes, maxmemory-policy noeviction, a persistent volume",
    run(objs) {
      const out = [];
      const sts = objs.find((o) => o.kind === "StatefulSet" && o.metadata.name === "taskstream-redis");
      if (!sts) return []; // managed Redis: nothing rendered to check
      const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "taskstream-redis");
      const conf = cm?.data?.["redis.conf"] ?? "";
      if (!/^appendonly\s+yes\s*$/m.test(conf)) out.push("redis.conf lacks `appendonly yes`");
      if (!/^maxmemory-policy\s+noeviction\s*$/m.test(conf))
        out.push("redis.conf lacks `maxmemory-policy noeviction` (BullMQ requires it)");
      if (!(sts.spec.volumeClaimTemplates ?? []).length) out.push("Redis StatefulSet has no volumeClaimTemplates");
      return out;
    },
  },
  {
    id: "redis-auth",
    title: "in-cluster Redis requires a password from a Secret (requirepass) and runs in protected mode",
    run(objs) {
      const out = [];
      const sts = objs.find((o) => o.kind === "StatefulSet" && o.metadata.name === "taskstream-redis");
      if (!sts) return [];
      const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "taskstream-redis");
      const conf = cm?.data?.["redis.conf"] ?? "";
      if (!/^protected-mode\s+yes\s*$/m.test(conf)) out.push("redis.conf lacks `protected-mode yes`");
      if (/^requirepass\s/m.test(conf)) out.push("redis.conf holds the password in a ConfigMap: pass it from a Secret");
      const c = (sts.spec.template.spec.containers ?? []).find((x) => x.name === "redis");
      const args = (c?.args ?? []).join(" ");
      const m = /--requirepass\s+\$\((\w+)\)/.exec(args);
      if (!m) out.push("Redis container does not pass --requirepass $(VAR)");
      else {
        const v = (c.env ?? []).find((e) => e.name === m[1]);
        if (!v?.valueFrom?.secretKeyRef) out.push(`Redis's ${m[1]} does not come from a Secret (secretKeyRef)`);
      }
      return out;
    },
  },
];

/** [path, value] of string values under any key that mentions "topic" (not settings about topics). */
export function topicValues(node, path = "") {
  const res = [];
  const skip = /replication|partition|auto_create|_replications|topics?_?(enabled|count)/i;
  if (Array.isArray(node)) {
    for (const [i, v] of node.entries()) res.push(...topicValues(v, `${path}[${i}]`));
  } else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      const p = path ? `${path}.${k}` : k;
      if (/topic/i.test(k) && !skip.test(k)) {
        for (const s of [v].flat()) if (typeof s === "string") for (const part of s.split(",")) res.push([p, part.trim()]);
      }
      // env lists: {name: FOO_TOPIC, value: x}
      if (k === "name" && typeof v === "string" && /TOPIC/.test(v) && !skip.test(v) && typeof node.value === "string")
        res.push([`${path}(${v})`, node.value]);
      if (typeof v === "object") res.push(...topicValues(v, p));
    }
  }
  return res;
}
