// docker-compose.yml starts with its own defaults: the resolved environment of every app service
// (compose-lint's normalized JSON, read from the file given as argv[2], with no variable set in
// the caller's environment) is run through the project's config loader,
// `bin/taskstream.ts check-config <command>`, exactly as the process would validate it at start-up.
// No Docker engine needed. Exit 0 when every service's config is valid.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const project = JSON.parse(readFileSync(process.argv[2], "utf8"));
const tsx = join(root, "node_modules/tsx");
if (!existsSync(tsx)) {
  console.error("compose-env: the project's node_modules are missing (run stack/install.sh first)");
  process.exit(1);
}
let failed = 0;
let checked = 0;
for (const [name, svc] of Object.entries(project.services ?? {})) {
  if (!/^taskstream:/.test(svc.image ?? "")) continue; // Redpanda, Postgres, Redis
  const command = [svc.command ?? []].flat();
  const target = command[0] ?? "all";
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(svc.environment ?? {})) if (v !== null && v !== undefined) env[k] = String(v);
  const r = spawnSync(process.execPath, ["--import", "tsx", "bin/taskstream.ts", "check-config", target], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  checked++;
  if (r.status === 0) console.log(`ok   compose service ${name}: ${r.stdout.trim()}`);
  else {
    failed++;
    console.log(`FAIL compose service ${name} (${target}): ${(r.stderr || r.stdout).trim()}`);
  }
}
if (checked === 0) {
  console.log("FAIL no taskstream service found in the compose project");
  process.exit(1);
}
process.exit(failed ? 1 : 0);
