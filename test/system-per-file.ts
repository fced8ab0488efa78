/**
 * The whole system for the tests of one file: started before them, stopped after them. Apart from
 * harness.ts, which the benchmarks import outside vitest (importing vitest there throws).
 */
import { afterAll, beforeAll } from "vitest";
import type { Config } from "../common/config.ts";
import { startSystem } from "./harness.ts";

export function systemForThisFile(config: Config, extra: Record<string, string> = {}): void {
  let system: Awaited<ReturnType<typeof startSystem>> | undefined;
  beforeAll(async () => {
    system = await startSystem(config, extra);
  });
  afterAll(async () => {
    await system?.stop();
  });
}
