// Validates each rendered object against the Kubernetes OpenAPI schemas shipped in the
// npm package kubernetes-models@4.5.1 (types, required fields, enums; it does NOT reject
// unknown fields). Prometheus Operator kinds use @kubernetes-models/prometheus-operator.
// CloudNativePG's Cluster has no offline schema package: a structural check stands in.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function classFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = [];
  if (group === "monitoring.coreos.com") candidates.push(`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`);
  else if (group === "") candidates.push(`kubernetes-models/${version}/${kind}`);
  else candidates.push(`kubernetes-models/${group}/${version}/${kind}`);
  for (const c of candidates) {
    try {
      const mod = require(c);
      return mod[kind] ?? mod.default;
    } catch {
      /* try next */
    }
  }
  return undefined;
}

const structural = {
  "postgresql.cnpg.io/v1/Cluster"(o) {
    const e = [];
    if (!Number.isInteger(o.spec?.instances) || o.spec.instances < 1) e.push("spec.instances must be an integer >= 1");
    if (!/^[0-9]+(Mi|Gi|Ti)$/.test(o.spec?.storage?.size ?? "")) e.push("spec.storage.size must be a quantity like 20Gi");
    if (!o.spec?.bootstrap?.initdb?.database) e.push("spec.bootstrap.initdb.database is required here (the app database)");
    const known = new Set([
      "instances",
      "imageName",
      "primaryUpdateStrategy",
      "enablePDB",
      "bootstrap",
      "storage",
      "resources",
      "postgresql",
      "affinity",
      "monitoring",
      "backup",
      "description",
      "walStorage",
    ]);
    for (const k of Object.keys(o.spec ?? {})) if (!known.has(k)) e.push(`spec.${k} is not a field this check knows (typo?)`);
    return e;
  },
};

/** Returns failure messages for objects that do not validate. */
export function validateObjects(objs) {
  const out = [];
  for (const o of objs) {
    const where = `${o.kind}/${o.metadata?.namespace ?? "-"}/${o.metadata?.name}`;
    if (!o.apiVersion || !o.kind || !o.metadata?.name) {
      out.push(`${where}: apiVersion, kind and metadata.name are required`);
      continue;
    }
    const s = structural[`${o.apiVersion}/${o.kind}`];
    if (s) {
      for (const m of s(o)) out.push(`${where}: ${m}`);
      continue;
    }
    const Cls = classFor(o.apiVersion, o.kind);
    if (!Cls) {
      out.push(`${where}: no offline schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Cls(o).validate();
    } catch (err) {
      out.push(`${where}: ${err.message}`);
    }
  }
  return out;
}
