/**
 * The one typed configuration of every taskstream process, read from the environment.
 * Each setting is declared once below with its env name, type, default and meaning; README's
 * configuration table lists the same. `loadConfig` fails with one line naming the bad setting.
 */
import { accessSync, constants } from "node:fs";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/** Documented default for local development only; README says to override it anywhere else. */
export const LOCAL_JWT_SECRET = "taskstream-local-dev-secret-do-not-use-in-production";

interface Setting<S extends TSchema> {
  env: string;
  schema: S;
  default?: Static<S>;
  doc: string;
  /** Never printed, not even in the error about it (its length is). */
  secret?: boolean;
}
const setting = <S extends TSchema>(s: Setting<S>): Setting<S> => s;

/** One CORS_ORIGINS entry: `none`, `*`, or scheme://host[:port] with `*` as the port or the first host label. */
const CORS_ENTRY = "(none|\\*|[A-Za-z][A-Za-z0-9+.-]*://(\\*\\.)?([^/:,\\s\\[\\]]+|\\[[0-9A-Fa-f:.]+\\])(:(\\*|\\d{1,5}))?)";
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Positive = Type.Integer({ minimum: 1 });

export const settings = {
  profile: setting({
    env: "TASKSTREAM_PROFILE",
    schema: Type.Union([Type.Literal("production"), Type.Literal("dev")]),
    default: "production",
    doc: "`dev` (set by make dev, make test and bench) allows the documented local JWT secret; `production` refuses to start without JWT_SECRET or JWT_JWKS_URL.",
  }),
  host: setting({ env: "HOST", schema: Type.String({ minLength: 1 }), default: "0.0.0.0", doc: "Address every server binds to." }),
  ingestPort: setting({ env: "INGEST_PORT", schema: Port, default: 8080, doc: "HTTP API port (ingest)." }),
  processorsPort: setting({ env: "PROCESSORS_PORT", schema: Port, default: 8081, doc: "Health/metrics port of the processors." }),
  schedulerPort: setting({ env: "SCHEDULER_PORT", schema: Port, default: 8082, doc: "Health/metrics port of the scheduler." }),
  fanoutPort: setting({ env: "FANOUT_PORT", schema: Port, default: 8090, doc: "WebSocket port (fan-out)." }),
  publicPort: setting({
    env: "PUBLIC_PORT",
    schema: Port,
    doc: "With `all` only: one public port in front of ingest and fanout (WebSocket upgrades under /api/ws/ to the fan-out, the rest to ingest), for platforms that route one port per service (Render). Unset = none.",
  }),
  kafkaBrokers: setting({
    env: "KAFKA_BROKERS",
    schema: Type.String({ pattern: "^[^,:\\s]+:\\d+(,[^,:\\s]+:\\d+)*$" }),
    default: "127.0.0.1:19092",
    doc: "Comma-separated host:port list of Kafka-protocol brokers (Apache Kafka, Redpanda).",
  }),
  kafkaSaslMechanism: setting({
    env: "KAFKA_SASL_MECHANISM",
    schema: Type.Union([Type.Literal("PLAIN"), Type.Literal("SCRAM-SHA-256"), Type.Literal("SCRAM-SHA-512")]),
    doc: "SASL mechanism of every Kafka client (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); unset = no SASL. Needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD.",
  }),
  kafkaSaslUsername: setting({
    env: "KAFKA_SASL_USERNAME",
    schema: Type.String({ minLength: 1 }),
    doc: "SASL user name (with KAFKA_SASL_MECHANISM).",
  }),
  kafkaSaslPassword: setting({
    env: "KAFKA_SASL_PASSWORD",
    schema: Type.String({ minLength: 1 }),
    doc: "SASL password (with KAFKA_SASL_MECHANISM); from a secret, never a file in the repo.",
    secret: true,
  }),
  kafkaSsl: setting({
    env: "KAFKA_SSL",
    schema: Type.Boolean(),
    default: false,
    doc: "TLS to the brokers (`true`/`false`); with SASL this is SASL_SSL. The system CAs are trusted unless KAFKA_SSL_CA_FILE is set.",
  }),
  kafkaSslCaFile: setting({
    env: "KAFKA_SSL_CA_FILE",
    schema: Type.String({ minLength: 1 }),
    doc: "PEM file of the CA(s) that signed the brokers' certificates (with KAFKA_SSL=true).",
  }),
  topicPrefix: setting({
    env: "TOPIC_PREFIX",
    schema: Type.String({ pattern: "^[A-Za-z0-9._-]*$" }),
    default: "",
    doc: "Prepended to every topic name of redpanda/topics.json (isolates tests or tenants on one cluster).",
  }),
  topicReplicationFactor: setting({
    env: "TOPIC_REPLICATION_FACTOR",
    schema: Positive,
    default: 1,
    doc: "Replication factor used when creating topics (3 in production).",
  }),
  databaseUrl: setting({
    env: "DATABASE_URL",
    schema: Type.String({ pattern: "^postgres(ql)?://[^\\s]+$" }),
    default: "postgres://taskstream:taskstream@127.0.0.1:15432/taskstream",
    doc: "PostgreSQL connection URL.",
  }),
  databasePoolSize: setting({ env: "DATABASE_POOL_SIZE", schema: Positive, default: 10, doc: "Connections per process." }),
  databasePreparedStatements: setting({
    env: "DATABASE_PREPARED_STATEMENTS",
    schema: Type.Boolean(),
    default: true,
    doc: "The processors' per-batch statements run as named prepared statements (parsed once per connection, planned once when the generic plan is as good) in sessions that avoid sequential scans. `false` behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).",
  }),
  redisUrl: setting({
    env: "REDIS_URL",
    schema: Type.String({ pattern: "^rediss?://[^\\s]+$" }),
    default: "redis://127.0.0.1:16379",
    doc: "Redis URL (streams, pub/sub, BullMQ).",
  }),
  redisPrefix: setting({
    env: "REDIS_PREFIX",
    schema: Type.String({ pattern: "^[A-Za-z0-9:._-]*$" }),
    default: "ts",
    doc: "Prefix of every Redis key and channel.",
  }),
  jwtSecret: setting({
    env: "JWT_SECRET",
    schema: Type.String({ minLength: 32 }),
    default: LOCAL_JWT_SECRET,
    doc: "HS256 secret (at least 32 characters). Ignored when JWT_JWKS_URL is set. The default is for TASKSTREAM_PROFILE=dev only.",
    secret: true,
  }),
  jwtJwksUrl: setting({
    env: "JWT_JWKS_URL",
    schema: Type.String({ pattern: "^https?://" }),
    doc: "JWKS URL for RS256/ES256/EdDSA tokens.",
  }),
  jwtIssuer: setting({ env: "JWT_ISSUER", schema: Type.String({ minLength: 1 }), doc: "Expected `iss`, checked when set." }),
  jwtAudience: setting({ env: "JWT_AUDIENCE", schema: Type.String({ minLength: 1 }), doc: "Expected `aud`, checked when set." }),
  logLevel: setting({
    env: "LOG_LEVEL",
    schema: Type.Union([
      Type.Literal("fatal"),
      Type.Literal("error"),
      Type.Literal("warn"),
      Type.Literal("info"),
      Type.Literal("debug"),
      Type.Literal("trace"),
      Type.Literal("silent"),
    ]),
    default: "info",
    doc: "pino log level.",
  }),
  shutdownTimeoutMs: setting({
    env: "SHUTDOWN_TIMEOUT_MS",
    schema: Positive,
    default: 10000,
    doc: "Upper bound of the graceful drain on SIGTERM; keep below Kubernetes' terminationGracePeriodSeconds.",
  }),
  dependencyTimeoutMs: setting({
    env: "DEPENDENCY_TIMEOUT_MS",
    schema: Positive,
    default: 10000,
    doc: "How long start-up waits for Kafka, PostgreSQL and Redis before failing.",
  }),
  eventStreamMaxLen: setting({
    env: "EVENT_STREAM_MAXLEN",
    schema: Positive,
    default: 1000,
    doc: "Events kept per user in the Redis stream for fast replay; older ones replay from PostgreSQL.",
  }),
  replayMaxEvents: setting({
    env: "REPLAY_MAX_EVENTS",
    schema: Positive,
    default: 10000,
    doc: "Most events one reconnect replays; a client further behind gets resync_required.",
  }),
  produceTimeoutMs: setting({
    env: "PRODUCE_TIMEOUT_MS",
    schema: Positive,
    default: 2000,
    doc: "How long ingest waits for the broker before putting a write in the PostgreSQL fallback queue.",
  }),
  rateLimitPerSecond: setting({
    env: "RATE_LIMIT_PER_SECOND",
    schema: Positive,
    default: 50,
    doc: "Sustained writes per user per second (ingest).",
  }),
  rateLimitBurst: setting({
    env: "RATE_LIMIT_BURST",
    schema: Positive,
    default: 200,
    doc: "Burst of writes per user above the sustained rate.",
  }),
  bodyLimitBytes: setting({ env: "BODY_LIMIT_BYTES", schema: Positive, default: 65536, doc: "Largest accepted request body." }),
  ingestMaxInFlight: setting({
    env: "INGEST_MAX_IN_FLIGHT",
    schema: Positive,
    default: 2000,
    doc: "Requests one ingest process works on at once; any more are answered 429 with Retry-After: 1 at once (load shedding).",
  }),
  wsMaxBackpressureBytes: setting({
    env: "WS_MAX_BACKPRESSURE_BYTES",
    schema: Positive,
    default: 1048576,
    doc: "Bytes buffered for one WebSocket before it is closed as too slow (4008).",
  }),
  wsIdleTimeoutSeconds: setting({
    env: "WS_IDLE_TIMEOUT_SECONDS",
    schema: Positive,
    default: 60,
    doc: "WebSocket idle timeout; pings keep live sockets open.",
  }),
  wsMaxConnectionsPerUser: setting({
    env: "WS_MAX_CONNECTIONS_PER_USER",
    schema: Positive,
    default: 20,
    doc: "Concurrent WebSockets per user per fan-out process.",
  }),
  corsOrigins: setting({
    env: "CORS_ORIGINS",
    schema: Type.String({ pattern: `^${CORS_ENTRY}(\\s*,\\s*${CORS_ENTRY})*$` }),
    default: "http://localhost:*,http://127.0.0.1:*,http://[::1]:*",
    doc: "Browser origins allowed by CORS and at the WebSocket upgrade: comma list of origins; `*` as the port (`http://localhost:*`) or as the first host label (`https://*.example.com`); `none` allows none. The default (local development) allows the dashboard on any localhost port.",
  }),
  recurrenceLead: setting({
    env: "RECURRENCE_LEAD",
    schema: Type.String({ pattern: "^P(?!$)(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$", maxLength: 32 }),
    default: "PT24H",
    doc: "How long before its due time each instance of a recurring series is spawned, at least (ISO-8601 duration, e.g. `PT24H`, `P2D`, `PT0S`); a series' largest `before` reminder lengthens it for that series.",
  }),
  processorsGroup: setting({
    env: "PROCESSORS_GROUP",
    schema: Type.String({ minLength: 1 }),
    default: "taskstream-processors",
    doc: "Consumer group of the processors.",
  }),
} as const;

type Settings = typeof settings;
type Optional =
  | "jwtJwksUrl"
  | "jwtIssuer"
  | "jwtAudience"
  | "kafkaSaslMechanism"
  | "kafkaSaslUsername"
  | "kafkaSaslPassword"
  | "kafkaSslCaFile";
export type Config = { readonly [K in Exclude<keyof Settings, Optional>]: Static<Settings[K]["schema"]> } & {
  readonly [K in Optional]?: Static<Settings[K]["schema"]>;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates every setting; throws ConfigError naming the first bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [string, Setting<TSchema>][]) {
    const raw = env[s.env];
    if (raw === undefined || raw === "") {
      if (s.default !== undefined) out[key] = s.default;
      continue;
    }
    const value = Value.Convert(s.schema, raw);
    if (!Value.Check(s.schema, value)) {
      const first = Value.Errors(s.schema, value).First();
      throw new ConfigError(`${s.env}=${shown(s, raw)} is invalid: ${first?.message ?? "wrong type"} (${s.doc})`);
    }
    out[key] = value;
  }
  const config = out as Config;
  checkCombinations(config);
  return config;
}

/** A value as an error may print it: a secret by its length only, a URL without its password. */
function shown(s: Setting<TSchema>, raw: string): string {
  if (s.secret) return `(${raw.length} characters, not shown)`;
  // Up to the last "@": a password may hold any character, and too much hidden is no harm.
  return JSON.stringify(raw.replace(/(:\/\/[^:/@\s]*:).*@/, "$1***@"));
}

/** Settings that only make sense together; the message names the one to fix. */
function checkCombinations(c: Config): void {
  if (c.kafkaSaslMechanism) {
    if (!c.kafkaSaslUsername) throw new ConfigError(`KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=${c.kafkaSaslMechanism}`);
    if (!c.kafkaSaslPassword) throw new ConfigError(`KAFKA_SASL_PASSWORD is required with KAFKA_SASL_MECHANISM=${c.kafkaSaslMechanism}`);
  } else if (c.kafkaSaslUsername || c.kafkaSaslPassword) {
    throw new ConfigError(
      "KAFKA_SASL_MECHANISM is not set but KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are: set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
    );
  }
  if (c.publicPort !== undefined && [c.ingestPort, c.fanoutPort, c.processorsPort, c.schedulerPort].includes(c.publicPort)) {
    throw new ConfigError(
      `PUBLIC_PORT=${c.publicPort} is also the port of a process: give INGEST_PORT/FANOUT_PORT/PROCESSORS_PORT/SCHEDULER_PORT other ports`,
    );
  }
  if (c.kafkaSslCaFile) {
    if (!c.kafkaSsl) throw new ConfigError("KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true");
    try {
      accessSync(c.kafkaSslCaFile, constants.R_OK);
    } catch {
      throw new ConfigError(`KAFKA_SSL_CA_FILE=${JSON.stringify(c.kafkaSslCaFile)} is not a readable file`);
    }
  }
}

/**
 * What a long-running process (or `token`) additionally needs: outside the explicit dev profile
 * there is no usable default secret. Throws ConfigError with one line naming the setting.
 */
export function checkStartupSecrets(c: Config): void {
  if (c.profile === "dev" || c.jwtJwksUrl) return;
  if (c.jwtSecret === LOCAL_JWT_SECRET) {
    throw new ConfigError(
      "JWT_SECRET is unset or the documented dev secret: set JWT_SECRET (32+ random characters) or JWT_JWKS_URL (TASKSTREAM_PROFILE=dev allows the dev secret locally)",
    );
  }
}

export const brokerList = (config: Config): string[] => config.kafkaBrokers.split(",");
