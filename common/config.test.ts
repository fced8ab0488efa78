import { describe, expect, it } from "vitest";
import { ConfigError, LOCAL_JWT_SECRET, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("applies documented defaults", () => {
    const c = loadConfig({});
    expect(c.ingestPort).toBe(8080);
    expect(c.fanoutPort).toBe(8090);
    expect(c.jwtSecret).toBe(LOCAL_JWT_SECRET);
    expect(c.jwtJwksUrl).toBeUndefined();
  });

  it("converts numbers from strings", () => {
    expect(loadConfig({ INGEST_PORT: "9000" }).ingestPort).toBe(9000);
  });

  it.each([
    ["DATABASE_URL", "mysql://x"],
    ["REDIS_URL", "localhost:6379"],
    ["KAFKA_BROKERS", "broker-without-port"],
    ["INGEST_PORT", "eighty"],
    ["INGEST_PORT", "70000"],
    ["JWT_SECRET", "short"],
    ["LOG_LEVEL", "loud"],
  ])("names %s when it is %s", (env, value) => {
    expect(() => loadConfig({ [env]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [env]: value })).toThrow(new RegExp(`^${env}=`));
  });
});

describe("README configuration table", () => {
  it("lists every setting", async () => {
    const { readFileSync } = await import("node:fs");
    const { settings } = await import("./config.ts");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const s of Object.values(settings)) expect(readme, s.env).toMatch(new RegExp(`\\|\\s*\`${s.env}\`\\s*\\|`));
  });
});
