/**
 * One public port for `all` on platforms that route a single port per service (Render's `PORT`):
 * WebSocket upgrades under /api/ws/ go to the fan-out, everything else to ingest, both on
 * loopback. Bytes are piped unchanged (the upgrade as raw TCP, so uWS sees the client's own
 * handshake); nothing is parsed or buffered beyond the request head. Only when PUBLIC_PORT is set.
 */
import { createServer, request, type Server } from "node:http";
import { connect } from "node:net";
import type { Config } from "./config.ts";
import { logger } from "./log.ts";
import { type Service, StartupError } from "./service.ts";

export function singlePortService(config: Config, port: number): Service {
  const log = logger("single-port");
  let server: Server | undefined;
  const sockets = new Set<import("node:stream").Duplex>();
  const bad = (res: import("node:http").ServerResponse, status: number, message: string) => {
    if (res.headersSent) return res.destroy();
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "unavailable", message } }));
  };
  return {
    name: "single-port",
    checks: {},
    async start() {
      server = createServer((req, res) => {
        const upstream = request(
          { host: "127.0.0.1", port: config.ingestPort, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.rawHeaders);
            up.pipe(res);
          },
        );
        upstream.on("error", (err) => {
          log.debug({ err: err.message }, "ingest unreachable");
          bad(res, 502, "ingest unreachable");
        });
        req.pipe(upstream);
      });
      server.on("upgrade", (req, client, head) => {
        const target = req.url?.startsWith("/api/ws/") ? config.fanoutPort : config.ingestPort;
        const up = connect(target, "127.0.0.1", () => {
          const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
          for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
          up.write(`${lines.join("\r\n")}\r\n\r\n`);
          if (head.length) up.write(head);
          up.pipe(client);
          client.pipe(up);
        });
        sockets.add(client);
        client.on("close", () => sockets.delete(client));
        const close = () => {
          up.destroy();
          client.destroy();
        };
        up.on("error", close);
        client.on("error", close);
        up.on("close", () => client.destroy());
      });
      // Idle keep-alive connections must not hold the drain.
      server.keepAliveTimeout = 5000;
      await new Promise<void>((resolve, reject) => {
        server?.once("error", (err) => reject(new StartupError(`PUBLIC_PORT: cannot listen on ${config.host}:${port} (${err.message})`)));
        server?.listen(port, config.host, () => resolve());
      });
      log.info({ port, ingest: config.ingestPort, fanout: config.fanoutPort }, "one public port: /api/ws/ → fanout, the rest → ingest");
    },
    async stop() {
      if (!server) return;
      const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
      server.closeIdleConnections();
      // WebSockets are closed by the fan-out (1001) before this service stops; drop what is left.
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
