import { describe, expect, it } from "vitest";
import { ConfigError, checkStartupSecrets, LOCAL_JWT_SECRET, loadConfig } from "./config.ts";
import { kafkaConfigProblem, kafkaSecurity } from "./kafka.ts";

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
    ["KAFKA_SASL_MECHANISM", "GSSAPI"],
    ["KAFKA_SSL", "maybe"],
    ["TASKSTREAM_PROFILE", "staging"],
  ])("names %s when it is %s", (env, value) => {
    expect(() => loadConfig({ [env]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [env]: value })).toThrow(new RegExp(`^${env}=`));
  });

  it("never prints a secret or a URL's password in the error", () => {
    expect(() => loadConfig({ JWT_SECRET: "hunter2-but-short" })).toThrow(/^JWT_SECRET=\(17 characters, not shown\) is invalid/);
    expect(() => loadConfig({ REDIS_URL: "http://:SuperSecretPw@host:6379" })).toThrow(
      /^REDIS_URL="http:\/\/:\*\*\*@host:6379" is invalid/,
    );
    expect(() => loadConfig({ DATABASE_URL: "mysql://app:pa:ss@db/x" })).toThrow(/^DATABASE_URL="mysql:\/\/app:\*\*\*@db\/x"/);
    const messageOf = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("no error");
    };
    expect(messageOf({ DATABASE_URL: "postgres://app:my pass@db/x" })).toMatch(/^DATABASE_URL="postgres:\/\/app:\*\*\*@db\/x"/);
    expect(messageOf({ REDIS_URL: "http://:p@ss/w@rd@host" })).toMatch(/^REDIS_URL="http:\/\/:\*\*\*@host"/);
  });
});

describe("secured brokers", () => {
  const sasl = { KAFKA_SASL_MECHANISM: "SCRAM-SHA-512", KAFKA_SASL_USERNAME: "svc", KAFKA_SASL_PASSWORD: "pw" };
  it("passes SASL and TLS to the Kafka client", () => {
    const c = loadConfig({ ...sasl, KAFKA_SSL: "true" });
    expect(kafkaSecurity(c)).toEqual({
      kafkaJS: { ssl: true, sasl: { mechanism: "scram-sha-512", username: "svc", password: "pw" } },
      rdkafka: {},
    });
    expect(kafkaSecurity(loadConfig({}))).toEqual({ kafkaJS: {}, rdkafka: {} });
  });
  it.each([
    [{ KAFKA_SASL_MECHANISM: "PLAIN", KAFKA_SASL_PASSWORD: "pw" }, "KAFKA_SASL_USERNAME"],
    [{ KAFKA_SASL_MECHANISM: "PLAIN", KAFKA_SASL_USERNAME: "u" }, "KAFKA_SASL_PASSWORD"],
    [{ KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "pw" }, "KAFKA_SASL_MECHANISM"],
    [{ KAFKA_SSL_CA_FILE: "/etc/hostname" }, "KAFKA_SSL_CA_FILE"],
    [{ KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: "/nonexistent/ca.pem" }, "KAFKA_SSL_CA_FILE"],
  ])("refuses an incomplete combination %j naming %s", (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${name}`));
  });
  it("names the password when the broker refuses the credentials", () => {
    const msg =
      "sasl_ssl://b:9092/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials";
    expect(kafkaConfigProblem(loadConfig(sasl), msg)).toMatch(/^KAFKA_SASL_PASSWORD/);
    expect(kafkaConfigProblem(loadConfig(sasl), "Connection refused")).toBeUndefined();
  });
});

describe("start-up secrets", () => {
  it("refuses the documented dev secret or no secret outside the dev profile", () => {
    expect(() => checkStartupSecrets(loadConfig({}))).toThrow(/^JWT_SECRET /);
    expect(() => checkStartupSecrets(loadConfig({ JWT_SECRET: LOCAL_JWT_SECRET }))).toThrow(/^JWT_SECRET /);
    expect(() => checkStartupSecrets(loadConfig({ TASKSTREAM_PROFILE: "production", JWT_SECRET: LOCAL_JWT_SECRET }))).toThrow(ConfigError);
  });
  it("accepts a real secret, a JWKS URL, or the explicit dev profile", () => {
    expect(() => checkStartupSecrets(loadConfig({ JWT_SECRET: "x".repeat(40) }))).not.toThrow();
    expect(() => checkStartupSecrets(loadConfig({ JWT_JWKS_URL: "https://idp.example/jwks.json" }))).not.toThrow();
    expect(() => checkStartupSecrets(loadConfig({ TASKSTREAM_PROFILE: "dev" }))).not.toThrow();
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
