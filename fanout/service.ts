/** The fan-out process: WebSockets (uWebSockets.js) fed by one Redis subscription. */
import uWS from "uWebSockets.js";
import type { Config } from "../common/config.ts";
import { checks, openDb, openRedis } from "../common/deps.ts";
import { type Health, type Service, StartupError } from "../common/service.ts";

export async function fanoutService(config: Config, health: Health): Promise<Service> {
  const state: { close?: () => Promise<void> } = {};
  const service: Service = {
    name: "fanout",
    checks: {},
    async start() {
      const db = await openDb(config);
      const redis = await openRedis(config, "fanout");
      Object.assign(service.checks, { postgres: checks.postgres(db), redis: checks.redis(redis) });
      const app = uWS.App();
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        app.get(path, (res) => {
          let aborted = false;
          res.onAborted(() => {
            aborted = true;
          });
          void health.respond(path).then((r) => {
            if (aborted || !r) return;
            res.cork(() => res.writeStatus(String(r.status)).writeHeader("content-type", r.contentType).end(r.body));
          });
        });
      }
      const socket = await new Promise<uWS.us_listen_socket | false>((resolve) => app.listen(config.host, config.fanoutPort, resolve));
      if (!socket) throw new StartupError(`FANOUT_PORT: cannot listen on ${config.host}:${config.fanoutPort}`);
      state.close = async () => {
        uWS.us_listen_socket_close(socket);
        redis.disconnect();
        await db.end();
      };
    },
    async stop() {
      await state.close?.();
    },
  };
  return service;
}
