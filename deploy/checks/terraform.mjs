// Static checks on terraform/ with the HCL parser of @cdktf/hcl2json (the HashiCorp HCL
// library compiled to WebAssembly). They stand in for the parts of `tofu validate` that
// need no provider schema: module inputs and outputs, variable hygiene, pinned providers.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "@cdktf/hcl2json";

export async function loadTerraform(dir) {
  const modules = {};
  const walk = (d) => {
    const tf = readdirSync(d).filter((f) => f.endsWith(".tf"));
    if (tf.length) modules[d] = tf.map((f) => join(d, f));
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (!f.startsWith(".") && statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  const out = {};
  for (const [d, files] of Object.entries(modules)) {
    const merged = {};
    for (const f of files) {
      const j = await parse(f, readFileSync(f, "utf8"));
      for (const [block, v] of Object.entries(j)) {
        if (Array.isArray(v)) merged[block] = [...(merged[block] ?? []), ...v];
        else merged[block] = { ...(merged[block] ?? {}), ...v };
      }
    }
    out[d] = merged;
  }
  return out;
}

const first = (x) => (Array.isArray(x) ? x[0] : x);
const isExample = (d) => /\/examples\//.test(d);

export const terraformChecks = [
  {
    id: "tf-variables",
    title:
      "every variable has a description and a type; example inputs without a default, and every number, have a validation; secrets are sensitive",
    run({ tf }) {
      const out = [];
      for (const [d, m] of Object.entries(tf))
        for (const [name, vs] of Object.entries(m.variable ?? {})) {
          const v = first(vs);
          if (!v.description) out.push(`${d}: variable ${name} has no description`);
          if (!v.type) out.push(`${d}: variable ${name} has no type`);
          if (isExample(d)) {
            const needs = !("default" in v) || v.type === `$${"{number}"}`;
            if (needs && !(v.validation ?? []).length) out.push(`${d}: variable ${name} has no validation`);
          }
          if (/secret|token|password|database_url|redis_url|client_key/.test(name) && v.sensitive !== true)
            out.push(`${d}: variable ${name} holds a secret but is not sensitive`);
        }
      return out;
    },
  },
  {
    id: "tf-outputs",
    title:
      "every output has a description; outputs carrying secrets are sensitive; the examples output api_url, websocket_url, base_url, ws_base_url and kubeconfig_path",
    run({ tf }) {
      const out = [];
      for (const [d, m] of Object.entries(tf)) {
        for (const [name, os] of Object.entries(m.output ?? {})) {
          const o = first(os);
          if (!o.description) out.push(`${d}: output ${name} has no description`);
          if (/token|kubeconfig$|key$|password/.test(name) && o.sensitive !== true)
            out.push(`${d}: output ${name} is a secret but not sensitive`);
        }
        if (isExample(d))
          for (const want of ["api_url", "websocket_url", "base_url", "ws_base_url", "kubeconfig_path"])
            if (!m.output?.[want]) out.push(`${d}: no output ${want}`);
      }
      return out;
    },
  },
  {
    id: "tf-modules",
    title: "module calls pass only declared variables and all required ones; module.X.Y references exist",
    run({ tf }) {
      const out = [];
      const meta = new Set(["source", "version", "providers", "depends_on", "count", "for_each"]);
      for (const [d, m] of Object.entries(tf)) {
        const calls = m.module ?? {};
        for (const [name, cs] of Object.entries(calls)) {
          const c = first(cs);
          const src = resolve(d, c.source);
          const callee = tf[src];
          if (!callee) {
            out.push(`${d}: module ${name} source ${c.source} is not a module of terraform/`);
            continue;
          }
          const vars = callee.variable ?? {};
          for (const arg of Object.keys(c))
            if (!meta.has(arg) && !vars[arg]) out.push(`${d}: module ${name} passes ${arg}, which ${c.source} does not declare`);
          for (const [vn, vs] of Object.entries(vars))
            if (!("default" in first(vs)) && !(vn in c)) out.push(`${d}: module ${name} does not pass required variable ${vn}`);
        }
        const text = JSON.stringify(m);
        for (const [, mod, outName] of text.matchAll(/module\.([a-z_0-9]+)\.([a-z_0-9]+)/g)) {
          const c = first(calls[mod] ?? []);
          if (!c) {
            out.push(`${d}: reference module.${mod}.${outName} to an undeclared module`);
            continue;
          }
          const callee = tf[resolve(d, c.source)];
          if (callee && !callee.output?.[outName]) out.push(`${d}: module.${mod}.${outName} is not an output of ${c.source}`);
        }
        for (const [, vn] of text.matchAll(/var\.([a-z_0-9]+)/g)) if (!m.variable?.[vn]) out.push(`${d}: var.${vn} is not declared`);
        for (const [, ln] of text.matchAll(/local\.([a-z_0-9]+)/g))
          if (!(m.locals ?? []).some((l) => ln in l)) out.push(`${d}: local.${ln} is not declared`);
      }
      return [...new Set(out)];
    },
  },
  {
    id: "tf-providers",
    title:
      "the examples pin exact provider versions (the ones deploy/tools.env builds); modules declare compatible constraints; required_version set",
    run({ tf, pinned }) {
      const out = [];
      for (const [d, m] of Object.entries(tf)) {
        const t = first(m.terraform ?? []);
        if (!t?.required_version) out.push(`${d}: no required_version`);
        const rp = first(t?.required_providers ?? []) ?? {};
        const types = [...Object.keys(m.resource ?? {}), ...Object.keys(m.data ?? {})];
        const usesProvider = (p) => types.some((t) => t.startsWith(`${p}_`)) || m.provider?.[p];
        for (const p of ["linode", "civo", "helm", "kubernetes"])
          if (usesProvider(p) && !rp[p]) out.push(`${d}: uses provider ${p} without required_providers`);
        for (const [p, spec] of Object.entries(rp)) {
          const want = pinned[spec.source];
          if (!want) {
            out.push(`${d}: provider ${spec.source} is not one deploy/tools.env knows`);
            continue;
          }
          if (isExample(d)) {
            if (spec.version !== want) out.push(`${d}: provider ${p} version "${spec.version}", want exactly "${want}" (deploy/tools.env)`);
          } else {
            const lower = />=\s*([0-9.]+)/.exec(spec.version ?? "")?.[1];
            const upper = /<\s*([0-9]+)\./.exec(spec.version ?? "")?.[1];
            if (!lower || !upper) out.push(`${d}: provider ${p} constraint "${spec.version}" should be ">= x.y.z, < N.0.0"`);
            else if (cmp(lower, want) > 0 || Number(want.split(".")[0]) >= Number(upper))
              out.push(`${d}: provider ${p} constraint "${spec.version}" excludes the pinned ${want}`);
          }
        }
      }
      return out;
    },
  },
  {
    id: "tf-files",
    title: "files the configurations read exist (Redpanda values, k8s overlays, deploy/k8s-apply.sh)",
    run({ tf, repoRoot }) {
      const out = [];
      for (const [d, m] of Object.entries(tf)) {
        const text = JSON.stringify(m);
        for (const [, rel] of text.matchAll(/\$\{path\.module\}([^"\\]+)/g)) {
          const p = resolve(d, "." + rel);
          if (!existsSync(p)) out.push(`${d}: path.module${rel} does not exist`);
        }
        for (const ov of text.matchAll(/overlay\\?"\s*:\s*\\?"([a-z]+)/g))
          if (!existsSync(join(repoRoot, "k8s/overlays", ov[1]))) out.push(`${d}: overlay ${ov[1]} does not exist`);
      }
      if (!existsSync(join(repoRoot, "deploy/k8s-apply.sh"))) out.push("deploy/k8s-apply.sh is missing");
      return out;
    },
  },
];

function cmp(a, b) {
  const x = a.split(".").map(Number),
    y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}
