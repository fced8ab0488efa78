// Runs every check on a world; returns [{id, title, scope, failures}].

import { composeChecks } from "./compose.mjs";
import { dockerfileChecks } from "./dockerfile.mjs";
import { checks as k8sChecks, topicValues } from "./k8s.mjs";
import { validateObjects } from "./schema.mjs";
import { terraformChecks } from "./terraform.mjs";

export const valuesChecks = [
  {
    id: "redpanda-values",
    title: "Redpanda values: >= 3 brokers, persistent storage, resources set, topic auto-creation off, no topic names outside topics.json",
    run(w) {
      const out = [];
      const v = w.values;
      if (!(v?.statefulset?.replicas >= 3))
        out.push(`statefulset.replicas is ${v?.statefulset?.replicas}, need >= 3 for replication factor 3`);
      if (!v?.storage?.persistentVolume?.enabled || !v?.storage?.persistentVolume?.size)
        out.push("storage.persistentVolume is not enabled with a size");
      if (!v?.resources?.cpu?.cores || !v?.resources?.memory?.container?.max)
        out.push("resources.cpu.cores / resources.memory.container.max not set");
      if (v?.config?.cluster?.auto_create_topics_enabled !== false)
        out.push("config.cluster.auto_create_topics_enabled must be false (topics come from redpanda/topics.json only)");
      const names = new Set(Object.values(w.topics).map((t) => t.name));
      for (const [p, val] of topicValues(v))
        if (!names.has(val)) out.push(`values.yaml ${p} = ${val} is not a topic of redpanda/topics.json`);
      for (const [p, val] of topicValues(w.compose))
        if (!names.has(val)) out.push(`docker-compose.yml ${p} = ${val} is not a topic of redpanda/topics.json`);
      if (!/auto_create_topics_enabled=false/.test(JSON.stringify(w.compose.services?.redpanda?.command ?? "")))
        out.push("compose Redpanda does not disable topic auto-creation");
      return out;
    },
  },
];

export function runSuite(w, only) {
  const results = [];
  const want = (id) => !only || only === id;
  for (const [overlay, objs] of Object.entries(w.overlays)) {
    if (want("schema"))
      results.push({
        id: "schema",
        scope: overlay,
        title: "objects validate against the Kubernetes schemas (kubernetes-models)",
        failures: validateObjects(objs),
      });
    for (const c of k8sChecks)
      if (want(c.id))
        results.push({
          id: c.id,
          scope: overlay,
          title: c.title,
          failures: c.run(objs, { overlay, topics: w.topics, redpandaReplicas: w.values?.statefulset?.replicas }),
        });
  }
  if (want("schema"))
    results.push({
      id: "schema",
      scope: "components",
      title: "opt-in component objects validate",
      failures: validateObjects(w.extraObjects),
    });
  for (const c of valuesChecks) if (want(c.id)) results.push({ id: c.id, scope: "redpanda", title: c.title, failures: c.run(w) });
  for (const c of composeChecks) if (want(c.id)) results.push({ id: c.id, scope: "compose", title: c.title, failures: c.run(w.compose) });
  for (const c of dockerfileChecks) if (want(c.id)) results.push({ id: c.id, scope: "docker", title: c.title, failures: c.run(w) });
  for (const c of terraformChecks) if (want(c.id)) results.push({ id: c.id, scope: "terraform", title: c.title, failures: c.run(w) });
  return results;
}
