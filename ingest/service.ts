/** The ingest process: the HTTP API (hyper-express on uWebSockets.js), writing events to the broker. */
import HyperExpress from "hyper-express";
import type { Redis } from "ioredis";
import { tokenVerifier } from "../common/auth.ts";
import type { Config } from "../common/config.ts";
import { topicName } from "../common/contracts/index.ts";
import { checks, openDb, openRedis } from "../common/deps.ts";
import { errors } from "../common/errors.ts";
import { createKafka, createProducer, keepConnecting, type Producer } from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import type { Db } from "../common/postgres.ts";
import { redisKeys } from "../common/redis.ts";
import { type Check, type Health, type Service, StartupError, withTimeout } from "../common/service.ts";
import { cursorKey } from "../storage/queries/cursor-key.ts";
import { admission } from "./admission.ts";
import { corsMiddleware } from "./cors.ts";
import { cursorCodec, cursorCodecKeyedBy } from "./cursor.ts";
import { closeConnectionsAfterAnswers, getAndHead, InFlight, refuseAmbiguousFraming, respond, sendError } from "./http.ts";
import { methodsOf, openApiDocument } from "./openapi.ts";
import { startRelay } from "./outbox-relay.ts";
import { resilientWriter } from "./publisher.ts";
import { readYourWrites } from "./read-your-writes.ts";
import type { RouteDeps } from "./routes/context.ts";
import { registerReminderRoutes } from "./routes/reminders.ts";
import { registerTagRoutes } from "./routes/tags.ts";
import { registerTaskRoutes } from "./routes/tasks.ts";
import { registerUserRoutes } from "./routes/user.ts";
import { timezoneOf } from "./timezones.ts";
import { turns } from "./turns.ts";

const log = logger("ingest");
const READ_RATE_FACTOR = 4;

export async function ingestService(config: Config, health: Health): Promise<Service> {
  let db: Db, redis: Redis;
  let connectedProducer: Producer | undefined;
  let stopKafka = () => {};
  /** Sends through the broker once connected; before that, fails at once (the write is queued). */
  const producer = {
    send: (record: Parameters<Producer["send"]>[0]) =>
      connectedProducer ? connectedProducer.send(record) : Promise.reject(new Error("not connected to the broker yet")),
  };
  let relay: { stop(): Promise<void> } | undefined;
  let server: HyperExpress.Server | undefined;
  let inFlight: InFlight | undefined;
  let stopping = false;
  /** The cursor key, read until PostgreSQL answers (ingest starts without it). */
  const loadCursorKey = async (database: Db): Promise<string> => {
    for (;;) {
      try {
        return await cursorKey(database);
      } catch (err) {
        if (stopping) throw err;
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  };
  const service: Service & { degradedWithout: Record<string, Check> } = {
    name: "ingest",
    checks: {},
    degradedWithout: {},
    async start() {
      db = await openDb(config);
      // Fail fast: with Redis down a write still answers within a bounded time (rate limit open, 503 for idempotent writes).
      redis = await openRedis(config, "ingest", { failFast: true });
      // Ready without any one dependency, degraded (README "Failure modes"): without the broker,
      // writes go to the PostgreSQL fallback queue; without Redis, requests go unlimited; without
      // PostgreSQL, creates still reach the broker (other writes and reads answer 503). /readyz reports them.
      Object.assign(service.degradedWithout, { postgres: checks.postgres(db), redis: checks.redis(redis) });
      // The broker may be down at start: ingest starts anyway, writes go to the fallback queue until
      // the producer connects (it sends nothing before), and the relay then drains them.
      const kafka = keepConnecting(log, async () => {
        const p = createProducer(createKafka(config, "taskstream-ingest"));
        try {
          await p.connect();
        } catch (err) {
          await p.disconnect().catch(() => {});
          throw err;
        }
        connectedProducer = p;
      });
      stopKafka = kafka.stop;
      await withTimeout(kafka.firstAttempt, config.dependencyTimeoutMs, "broker").catch(() => {});
      const topic = topicName(config.topicPrefix, "taskEvents");
      relay = startRelay(db, producer, topic);
      const keys = redisKeys(config.redisPrefix);
      // Our routes enforce BODY_LIMIT_BYTES themselves, as the body streams (http.ts), with a prompt
      // JSON 413; hyper-express's own limit would wait for a whole oversized body and answer an empty 413.
      server = new HyperExpress.Server({ max_body_length: Number.POSITIVE_INFINITY });
      // Before anything else reads the request (the body crashed the process when its length was ambiguous).
      server.use(refuseAmbiguousFraming);
      // CORS, preflight and browser-safety headers on every response, 404s and errors included.
      server.use(corsMiddleware(config.corsOrigins));
      // Reads are limited too (each costs a query), in their own bucket, READ_RATE_FACTOR times as large.
      const admit = admission(
        redis,
        keys,
        { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
        { perSecond: config.rateLimitPerSecond * READ_RATE_FACTOR, burst: config.rateLimitBurst * READ_RATE_FACTOR },
      );
      inFlight = new InFlight(config.ingestMaxInFlight);
      const http = {
        verify: tokenVerifier(config),
        admission: admit,
        bodyLimit: config.bodyLimitBytes,
        inFlight,
        turns: turns(),
      };
      const deps: RouteDeps = {
        config,
        http,
        db,
        redis,
        keys,
        writer: resilientWriter(
          producer,
          db,
          topic,
          { produceTimeoutMs: config.produceTimeoutMs },
          { accepting: admit.rememberPending, refused: admit.forgetPending },
        ),
        // HS256: keyed by its secret. JWKS: by the deployment's own key in PostgreSQL, loaded once.
        cursors: config.jwtJwksUrl ? cursorCodecKeyedBy(loadCursorKey(db)) : cursorCodec(config.jwtSecret),
        timezoneOf: timezoneOf(db, redis, keys),
        ...readYourWrites(db, redis, keys, admit),
      };
      registerTaskRoutes(server, deps);
      registerReminderRoutes(server, deps);
      registerTagRoutes(server, deps);
      registerUserRoutes(server, deps);
      const openapi = JSON.stringify(openApiDocument());
      getAndHead(server, "/openapi.json", (req, res) => respond(req, res, 200, "application/json", openapi));
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        getAndHead(server, path, async (req, res) => {
          const r = await health.respond(path);
          if (r) respond(req, res, r.status, r.contentType, r.body);
        });
      }
      server.set_not_found_handler((req, res) => {
        // A path the API has, asked with a method it does not take: 405 naming those it takes.
        const allowed = methodsOf(req.path);
        void sendError(req, res, allowed.length > 0 ? errors.methodNotAllowed(req.method, allowed) : errors.notFound("route"));
      });
      server.set_error_handler((req, res, err) => {
        log.error({ err }, "request failed");
        sendError(req, res, err);
      });
      try {
        await server.listen(config.ingestPort, config.host);
      } catch (err) {
        throw new StartupError(`INGEST_PORT: cannot listen on ${config.host}:${config.ingestPort} (${String(err)})`);
      }
    },
    async stop() {
      // Stop intake first; requests in flight finish (their admission, produce or fallback write)
      // before what they use is closed, and the producer flushes what they produced.
      stopping = true;
      server?.close();
      closeConnectionsAfterAnswers();
      if (inFlight) await withTimeout(inFlight.idle(), config.shutdownTimeoutMs / 2, "requests in flight").catch(() => {});
      // A relay send waiting on a stalled broker is not waited out: its rows stay until acknowledged.
      await withTimeout(relay?.stop() ?? Promise.resolve(), config.produceTimeoutMs, "outbox relay").catch(() => {});
      stopKafka();
      // What is still queued for the broker by now was answered from the fallback queue (its request
      // is done) or is the relay's (its rows stay until acknowledged): both are durable in
      // PostgreSQL, so a stalled broker holds the exit for PRODUCE_TIMEOUT_MS at most, not the
      // whole shutdown budget.
      await connectedProducer?.flush({ timeout: config.produceTimeoutMs }).catch(() => {});
      await withTimeout(connectedProducer?.disconnect() ?? Promise.resolve(), config.produceTimeoutMs, "producer disconnect").catch(
        () => {},
      );
      redis?.disconnect();
      await db?.end();
    },
  };
  return service;
}
