/**
 * The fan-out process: a uWebSockets.js app. Tokens are checked at the upgrade (refused there,
 * never after); one Redis subscriber connection per process, subscribed to the channels of the
 * users this process holds sockets of (subscriptions.ts), feeds the per-user topics; a
 * reconnecting client replays from `since` with no gap and no duplicate (sessions.ts).
 */

import uWS from "uWebSockets.js";
import { STATUS_CODES } from "node:http";
import type { Redis } from "ioredis";
import {
  AuthError,
  bearer,
  claimsVerifier,
  isPathOfUser,
  KeysUnavailableError,
  type TokenClaims,
  TokenTooLargeError,
} from "../common/auth.ts";
import type { Config } from "../common/config.ts";
import { parsePubsubFrame } from "../common/contracts/index.ts";
import { checks, openDb, openRedis } from "../common/deps.ts";
import { errors, headerBytes, MAX_HEADER_BYTES } from "../common/errors.ts";
import { logger } from "../common/log.ts";
import { metric } from "../common/metrics.ts";
import { originMatcher, upgradeOriginAllowed } from "../common/origins.ts";
import type { Db } from "../common/postgres.ts";
import { redisKeys } from "../common/redis.ts";
import { type Check, type Health, type Service, StartupError } from "../common/service.ts";
import { latestSeqOf, readSince } from "../storage/event-log.ts";
import { CLOSE, endCorked, newSocketData, Sessions, type Socket, type SocketData } from "./sessions.ts";
import { Subscriptions } from "./subscriptions.ts";

/** An HTTP token (RFC 9110 §5.6.2), what each value of Sec-WebSocket-Protocol must be (RFC 6455 §4.1). */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_SUBPROTOCOL_HEADER = 1024;

/**
 * The subprotocol the 101 names, from the client's Sec-WebSocket-Protocol: "" to send none.
 * taskstream defines no subprotocol (its messages are the same whatever the client asks for), and
 * has always answered a client that offers some with the first it offered, which browsers then
 * require (a browser that offered one fails a 101 naming none); that stays. A header that is not a
 * comma list of tokens (`a b c`, `;;`, only commas) names nothing the client could have offered:
 * the 101 then has no Sec-WebSocket-Protocol at all (an empty or garbled one fails conforming
 * clients, RFC 6455 §4.1). Empty list elements are ignored, as RFC 9110 §5.6.1 asks.
 */
export function chosenSubprotocol(header: string | undefined): string {
  // A list no client offers (browsers send a handful of short names) is not echoed back at length.
  if (header !== undefined && header.length > MAX_SUBPROTOCOL_HEADER) return "";
  const offered = (header ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  return offered.length > 0 && offered.every((p) => HTTP_TOKEN.test(p)) ? (offered[0] as string) : "";
}

const log = logger("fanout");
const MAX_INBOUND_PER_SECOND = 20;
const MAX_INBOUND_BYTES = 4096;
/** Replay messages read at a time. */
const REPLAY_PAGE = 500;
/** A user's channel stays subscribed this long after the last socket left (clients reconnect at once after 1001/1012/4008). */
const CHANNEL_IDLE_MS = 5000;

const pubsubIn = metric.counter(
  "fanout_pubsub_messages_total",
  "Pub/sub messages received from Redis (events of the users subscribed here)",
);

const closes = metric.counter("ws_closed_total", "WebSockets closed, by close code (1006: no close frame)", ["code"]);

/** A plain HTTP answer; to HEAD, its status and headers alone (a body there would be read as the next response). */
function answer(
  res: uWS.HttpResponse,
  method: string,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
) {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS_CODES[status] ?? ""}`).writeHeader("content-type", contentType);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    if (method === "head") res.endWithoutBody();
    else res.end(body);
  });
}

/** Clients have nothing to send but the odd ping: a flood (messages, pings, pongs) is closed rather than served. */
function countInbound(ws: Socket) {
  const data = ws.getUserData();
  const second = Math.floor(Date.now() / 1000);
  if (data.inboundWindow !== second) {
    data.inboundWindow = second;
    data.inbound = 0;
  }
  if (++data.inbound > MAX_INBOUND_PER_SECOND) ws.end(CLOSE.policy, "too many messages");
}

function refuse(
  res: uWS.HttpResponse,
  status: string,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  details: { path: string; message: string }[] = [],
) {
  res.cork(() => {
    res.writeStatus(status).writeHeader("content-type", "application/json");
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(JSON.stringify({ error: { code, message, details } }));
  });
}

export async function fanoutService(config: Config, health: Health): Promise<Service> {
  const keys = redisKeys(config.redisPrefix);
  const verify = claimsVerifier(config);
  const originAllowed = originMatcher(config.corsOrigins);
  let db: Db, redis: Redis, subscriber: Redis;
  let subscriptions: Subscriptions;
  let listenSocket: uWS.us_listen_socket | false = false;
  let slowTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  const app = uWS.App();
  const replayPage = async (userId: string, after: number): Promise<string[]> => {
    const page = await readSince(redis, db, keys, userId, after, REPLAY_PAGE, Number.MAX_SAFE_INTEGER);
    return page.kind === "events" ? page.wire : [];
  };
  const sessions = new Sessions(app, replayPage, config.wsMaxConnectionsPerUser, config.wsMaxBackpressureBytes);

  async function replayAndGoLive(ws: Socket, subscribed: Promise<void>) {
    const data = ws.getUserData();
    try {
      // Live events must reach this process before the replay is read: then whatever the read
      // misses arrives live, and what both carry is dropped by seq (Sessions).
      await subscribed;
      if (data.closed) return;
      if (data.since === null) {
        const latest = await latestSeqOf(redis, db, keys, data.userId);
        sessions.goLive(ws, [], latest, latest, false);
        return;
      }
      // The first page; the rest is read as the socket drains (Sessions.pump), so memory per socket stays bounded.
      const result = await readSince(redis, db, keys, data.userId, data.since, REPLAY_PAGE, config.replayMaxEvents);
      if (result.kind === "resync_required") sessions.goLive(ws, [], result.latest, result.latest, true);
      else sessions.goLive(ws, result.wire, data.since + result.wire.length, result.latest, false);
    } catch (err) {
      log.error({ err, user: data.userId }, "replay failed");
      if (!data.closed) endCorked(ws, CLOSE.internal, "replay failed; reconnect with since");
    }
  }

  app.ws<SocketData>("/api/ws/:user_id", {
    idleTimeout: config.wsIdleTimeoutSeconds,
    sendPingsAutomatically: true,
    // Messages up to 1 MiB reach `message` and are refused there with a clear 1009 (clients send
    // nothing over 4 KiB); uWS itself cuts larger ones off without a close frame (1006). The
    // bound is also what uWS may buffer of one socket's message in progress.
    maxPayloadLength: 1024 * 1024,
    // uWS's own limit only guards memory, far above WS_MAX_BACKPRESSURE_BYTES, which
    // Sessions.closeSlowConsumers enforces with a clear code before uWS would drop or cut anything.
    maxBackpressure: Math.max(config.wsMaxBackpressureBytes * 64, 64 * 1024 * 1024),
    closeOnBackpressureLimit: true,
    upgrade: (res, req, context) => {
      // Everything from req must be read now: it is gone after the first await.
      const headers: [string, string][] = [];
      req.forEach((k, v) => {
        headers.push([k, v]);
      });
      if (headerBytes(headers) > MAX_HEADER_BYTES) {
        const tooLarge = errors.headersTooLarge(MAX_HEADER_BYTES);
        return refuse(res, "431 Request Header Fields Too Large", tooLarge.code, tooLarge.message);
      }
      // RFC 6455: a version this server does not speak is a 426 naming the one it does.
      if (req.getHeader("sec-websocket-version") !== "13")
        return refuse(res, "426 Upgrade Required", "upgrade_required", "only WebSocket version 13 is supported", {
          "sec-websocket-version": "13",
        });
      const segment = req.getParameter(0) ?? "";
      const query = new URLSearchParams(req.getQuery() ?? "");
      const token = bearer(req.getHeader("authorization")) ?? query.get("token") ?? undefined;
      const sinceRaw = query.get("since");
      const key = req.getHeader("sec-websocket-key");
      const protocol = chosenSubprotocol(req.getHeader("sec-websocket-protocol"));
      const extensions = req.getHeader("sec-websocket-extensions");
      // Cross-site WebSocket hijacking: a browser page from a foreign origin is refused here.
      const origin = req.getHeader("origin");
      if (!upgradeOriginAllowed(originAllowed, origin))
        return refuse(res, "403 Forbidden", "origin_not_allowed", `origin ${origin} is not in CORS_ORIGINS`);
      const admit = ({ sub, expiresAt }: TokenClaims) => {
        if (!isPathOfUser(segment, sub)) return refuse(res, "403 Forbidden", "forbidden", "the path's user_id is not the token's subject");
        if (sinceRaw !== null && !/^\d{1,15}$/.test(sinceRaw))
          return refuse(res, "400 Bad Request", "validation_failed", "since must be a non-negative integer", {}, [
            { path: "since", message: "must be a non-negative integer" },
          ]);
        if (sessions.isFull(sub))
          return refuse(
            res,
            "429 Too Many Requests",
            "too_many_connections",
            `at most ${config.wsMaxConnectionsPerUser} connections per user`,
            // As every 429 of the contract; a socket of the user's may close meanwhile.
            { "retry-after": "5" },
          );
        const data = newSocketData(sub, sinceRaw === null ? null : Number(sinceRaw), expiresAt);
        // Never inside res.cork. From the handler itself uWS has corked the response already; after
        // an asynchronous verification, res.cork(() => res.upgrade(…)) can make uWS misread the new
        // WebSocket's memory as the HTTP response's state and shut the socket down right after
        // `open` (uNetworking/uWebSockets#1928, fixed by #1929, in no Node 22 build on a registry):
        // a few sockets per thousand closed 1006 before `ready`. uWS prints a warning about the
        // missing cork instead, once per token this process had not verified yet.
        res.upgrade(data, key, protocol, extensions, context);
      };
      // A token this process already verified is admitted at once, inside uWS's own cork.
      const known = verify.known(token);
      if (known) return admit(known);
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      verify(token).then(
        (claims) => {
          if (!aborted) admit(claims);
        },
        (err) => {
          if (aborted) return;
          if (err instanceof TokenTooLargeError)
            return refuse(res, "431 Request Header Fields Too Large", "headers_too_large", err.message);
          if (err instanceof KeysUnavailableError)
            return refuse(res, "503 Service Unavailable", "unavailable", err.message, { "retry-after": "5" });
          const message = err instanceof AuthError ? err.message : "authentication failed";
          refuse(res, "401 Unauthorized", "unauthorized", message);
        },
      );
    },
    open: (ws) => {
      sessions.add(ws);
      void replayAndGoLive(ws, subscriptions.acquire(ws.getUserData().userId));
    },
    message: (ws, message) => {
      if (message.byteLength > MAX_INBOUND_BYTES) return ws.end(CLOSE.tooBig, "message too big");
      countInbound(ws);
    },
    // uWS answers pings itself; they count toward the flood limit like messages.
    ping: countInbound,
    pong: countInbound,
    drain: (ws) => sessions.pump(ws),
    close: (ws, code, message) => {
      const data = ws.getUserData();
      closes.inc({ code: String(code) });
      // A socket closed before it went live is worth a line: who closed it (1006: no close frame) and why.
      if (data.buffer !== null)
        log.info({ user: data.userId, code, reason: Buffer.from(message).toString() }, "WebSocket closed before it was live");
      sessions.remove(ws);
      subscriptions.release(data.userId);
    },
  });

  for (const path of ["/healthz", "/readyz", "/metrics"]) {
    const healthRoute = (res: uWS.HttpResponse, req: uWS.HttpRequest) => {
      const method = req.getMethod();
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      void health.respond(path).then(
        (r) => {
          if (!aborted && r) answer(res, method, r.status, r.contentType, r.body);
        },
        (err: Error) => {
          if (!aborted) answer(res, method, 500, "text/plain", err.message);
        },
      );
    };
    app.get(path, healthRoute);
    app.head(path, healthRoute);
  }
  // A request on the socket's path that is no WebSocket upgrade (uWS passes it on without a valid
  // Upgrade, Connection and Sec-WebSocket-Key).
  app.any("/api/ws/*", (res, req) =>
    answer(
      res,
      req.getMethod(),
      426,
      "application/json",
      '{"error":{"code":"upgrade_required","message":"this path takes a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version: 13)","details":[]}}',
      { upgrade: "websocket", "sec-websocket-version": "13" },
    ),
  );
  app.any("/*", (res, req) =>
    answer(res, req.getMethod(), 404, "application/json", '{"error":{"code":"not_found","message":"route not found","details":[]}}'),
  );

  const service: Service & { degradedWithout: Record<string, Check> } = {
    name: "fanout",
    checks: {},
    degradedWithout: {},
    async start() {
      db = await openDb(config);
      // Fail fast: a socket opened while Redis is down replays from PostgreSQL (storage/event-log.ts)
      // instead of waiting, silent, for Redis to come back.
      redis = await openRedis(config, "fanout", { failFast: true });
      subscriber = await openRedis(config, "fanout-subscriber");
      // Ready without Redis, degraded, as ingest is: a new socket of a user this process already
      // holds still gets its replay (from PostgreSQL), another user's closes 1011 and reconnects;
      // a Redis outage must not take every replica out of the Service at once (README "Failure modes").
      Object.assign(service.checks, { postgres: checks.postgres(db) });
      Object.assign(service.degradedWithout, { redis: checks.redis(redis) });
      // Held for the process's lifetime, so the connection never drops to zero subscriptions: at
      // zero ioredis leaves subscriber mode, and a SUBSCRIBE crossing that transition could stay
      // unconfirmed (a socket then never got `ready`). Nothing is published on it.
      await subscriber.subscribe(keys.fanoutAnchor);
      subscriptions = new Subscriptions(subscriber, keys.userChannel, CHANNEL_IDLE_MS);
      subscriber.on("message", (channel: string, message: string) => {
        pubsubIn.inc();
        const userId = subscriptions.userOf(channel);
        const frame = userId === undefined ? null : parsePubsubFrame(userId, message);
        if (frame) sessions.deliver(frame);
      });
      // Connected by now: any later "ready" is a reconnect. Messages published while the
      // subscription was down are lost to live sockets: make them resume from their last seq
      // instead of silently missing events. (ioredis resubscribes to every channel it had.)
      subscriber.on("ready", () => {
        subscriptions.reconnected();
        if (sessions.size > 0) {
          log.warn({ sockets: sessions.size }, "Redis subscription restored; asking clients to resume with since");
          sessions.closeAll(CLOSE.restart, "event feed reconnected: resume with since");
        }
      });
      slowTimer = setInterval(() => sessions.closeSlowConsumers(), 100);
      expiryTimer = setInterval(() => sessions.closeExpired(Date.now()), 1000);
      listenSocket = await new Promise<uWS.us_listen_socket | false>((resolve) => app.listen(config.host, config.fanoutPort, resolve));
      if (!listenSocket) throw new StartupError(`FANOUT_PORT: cannot listen on ${config.host}:${config.fanoutPort}`);
    },
    async stop() {
      if (listenSocket) uWS.us_listen_socket_close(listenSocket);
      clearInterval(slowTimer);
      clearInterval(expiryTimer);
      sessions.closeAll(CLOSE.goingAway, "server shutting down: reconnect elsewhere");
      subscriptions?.stop();
      subscriber?.disconnect();
      redis?.disconnect();
      await db?.end();
    },
  };
  return service;
}
