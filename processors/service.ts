/** The processors process: a consumer group that applies task events to PostgreSQL and Redis. */
import type { Config } from "../common/config.ts";
import { checks, openAdmin, openDb, openRedis } from "../common/deps.ts";
import { type Health, healthServer, type Service } from "../common/service.ts";

export async function processorsService(config: Config, health: Health): Promise<Service> {
  const state: { close?: () => Promise<void> } = {};
  const service: Service = {
    name: "processors",
    checks: {},
    async start() {
      const db = await openDb(config);
      const redis = await openRedis(config, "processors");
      const admin = await openAdmin(config, "taskstream-processors-admin");
      Object.assign(service.checks, { postgres: checks.postgres(db), redis: checks.redis(redis), kafka: checks.kafka(admin) });
      const server = await healthServer(health, config.host, config.processorsPort);
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
