// Loads everything the checks look at: rendered overlays, topics file, Redpanda values,
// compose file, Dockerfile, Terraform.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { loadTerraform } from "./terraform.mjs";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const OVERLAYS = readdirSync(join(repoRoot, "k8s/overlays"));

export function parseAll(text) {
  return YAML.parseAllDocuments(text, { merge: true })
    .map((d) => {
      if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join("; "));
      return d.toJS({ maxAliasCount: -1 });
    })
    .filter(Boolean);
}

function readToolsEnv() {
  const env = readFileSync(join(repoRoot, "deploy/tools.env"), "utf8");
  const pinned = {};
  for (const m of env.matchAll(/^PROVIDER_\w+="(\S+) (\S+) /gm)) pinned[m[1]] = m[2];
  return pinned;
}

export async function loadWorld({ kustomize }) {
  const topicsFile = JSON.parse(readFileSync(join(repoRoot, "redpanda/topics.json"), "utf8"));
  const values = YAML.parse(readFileSync(join(repoRoot, "redpanda/helm/values.yaml"), "utf8"));
  const overlays = {};
  for (const o of OVERLAYS) {
    let text;
    try {
      text = execFileSync(kustomize, ["build", join(repoRoot, "k8s/overlays", o)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      throw new Error(`kustomize build k8s/overlays/${o} failed:\n${e.stderr || e.message}`);
    }
    overlays[o] = parseAll(text);
  }
  const extra = [];
  for (const comp of ["prometheus-operator"]) {
    const d = join(repoRoot, "k8s/components", comp);
    for (const f of readdirSync(d).filter((x) => x.endsWith(".yaml") && x !== "kustomization.yaml"))
      extra.push(...parseAll(readFileSync(join(d, f), "utf8")));
  }
  return {
    repoRoot,
    topics: topicsFile.topics,
    values,
    overlays,
    extraObjects: extra,
    compose: parseAll(readFileSync(join(repoRoot, "docker-compose.yml"), "utf8"))[0],
    dockerfile: readFileSync(join(repoRoot, "Dockerfile"), "utf8"),
    dockerignore: readFileSync(join(repoRoot, ".dockerignore"), "utf8"),
    tf: await loadTerraform(join(repoRoot, "terraform")),
    pinned: readToolsEnv(),
  };
}
