// deploy-check, the Node part: node deploy/checks/run.mjs  (KUSTOMIZE=<path to kustomize>)

import { runSuite } from "./suite.mjs";
import { loadWorld } from "./world.mjs";

const kustomize = process.env.KUSTOMIZE || "kustomize";
let world;
try {
  world = await loadWorld({ kustomize });
} catch (e) {
  console.error(`deploy-check: cannot load the manifests: ${e.message}`);
  process.exit(1);
}
const results = runSuite(world);
let passed = 0,
  failed = 0;
for (const r of results) {
  if (r.failures.length === 0) {
    passed++;
    console.log(`ok   ${r.scope.padEnd(10)} ${r.id}`);
    continue;
  }
  failed++;
  console.log(`FAIL ${r.scope.padEnd(10)} ${r.id}: ${r.title}`);
  for (const f of r.failures) console.log(`       - ${f}`);
}
console.log(`deploy-checks: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
