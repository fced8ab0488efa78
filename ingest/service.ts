/** The ingest process: the HTTP API (hyper-express on uWebSockets.js). */
import HyperExpress from "hyper-express";
import type { Config } from "../common/config.ts";
import { checks, openAdmin, openDb, openRedis } from "../common/deps.ts";
import { type Health, type Service, StartupError } from "../common/service.ts";

export async function ingestService(config: Config, health: Health): Promise<Service> {
  const state: { close?: () => Promise<void> } = {};
  const service: Service = {
    name: "ingest",
    checks: {},
    async start() {
      const db = await openDb(config);
      const redis = await openRedis(config, "ingest");
      const admin = await openAdmin(config, "taskstream-ingest-admin");
      Object.assign(service.checks, { postgres: checks.postgres(db), redis: checks.redis(redis), kafka: checks.kafka(admin) });
      const server = new HyperExpress.Server({ max_body_length: config.bodyLimitBytes });
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        server.get(path, async (_req, res) => {
          const r = await health.respond(path);
          if (r) res.status(r.status).header("content-type", r.contentType).send(r.body);
        });
      }
      try {
        await server.listen(config.ingestPort, config.host);
      } catch (err) {
        throw new StartupError(`INGEST_PORT: cannot listen on ${config.host}:${config.ingestPort} (${String(err)})`);
      }
      state.close = async () => {
        server.close();
        await admin.disconnect();
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
