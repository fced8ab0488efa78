/**
 * The one entry point: `npm start -- <command>`.
 *   ingest | processors | scheduler | fanout   run one process
 *   all                                        run the four in one process (small deployments, make dev)
 *   migrate | topics                           apply migrations / create topics, then exit
 *   token <user_id> [ttl]                      print a signed JWT for the local stack
 *   replay [--from-topic]                      rebuild the projection into a scratch schema and diff it
 *   dlq list | dlq redrive [--reason TEXT]     show the dead-letter topic / send its records back (processors/dlq.ts)
 *   check-config [process]                     validate the environment as <process> would at start-up
 *                                              (no connection made); exit 0 or one line naming the setting
 */
// First: tracing starts (when configured) before anything loads pg, ioredis or pino.
import "../common/telemetry-boot.ts";
import { ConfigError, checkStartupSecrets, loadConfig } from "../common/config.ts";
import { rootLogger } from "../common/log.ts";
import { Health, runServices, type Service, StartupError } from "../common/service.ts";
import { stopTelemetry } from "../common/telemetry.ts";
import { assertNativeUws, UwsError } from "../common/uws.ts";

type ServiceFactory = (config: ReturnType<typeof loadConfig>, health: Health) => Promise<Service>;
const serviceFactories: Record<string, () => Promise<ServiceFactory>> = {
  processors: async () => (await import("../processors/service.ts")).processorsService,
  scheduler: async () => (await import("../scheduler/service.ts")).schedulerService,
  fanout: async () => (await import("../fanout/service.ts")).fanoutService,
  ingest: async () => (await import("../ingest/service.ts")).ingestService,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const config = loadConfig();
  switch (command) {
    case "migrate":
      await (await import("../storage/migrate.ts")).migrate(config);
      return 0;
    case "topics":
      await (await import("../redpanda/create-topics.ts")).createTopics(config);
      return 0;
    case "token": {
      checkStartupSecrets(config);
      const { signLocalToken } = await import("../common/auth.ts");
      if (!args[0]) throw new ConfigError("usage: token <user_id> [ttl, e.g. 24h]");
      process.stdout.write(`${await signLocalToken(config, args[0], args[1] ?? "24h")}\n`);
      return 0;
    }
    case "check-config": {
      const target = args[0] ?? "all";
      if (!["all", "ingest", "processors", "scheduler", "fanout", "migrate", "topics"].includes(target)) {
        throw new ConfigError(`check-config: unknown process ${JSON.stringify(target)}`);
      }
      if (!["migrate", "topics"].includes(target)) checkStartupSecrets(config);
      process.stdout.write(`taskstream: configuration of ${target} is valid\n`);
      return 0;
    }
    case "replay":
      return (await import("../processors/replay.ts")).replayCommand(config, args);
    case "dlq":
      return (await import("../processors/dlq.ts")).dlqCommand(config, args);
    case "all":
    case "ingest":
    case "processors":
    case "scheduler":
    case "fanout": {
      checkStartupSecrets(config);
      // Start order follows the data flow backwards so nothing is accepted before it can be handled.
      const names = command === "all" ? ["processors", "scheduler", "fanout", "ingest"] : [command];
      // ingest (hyper-express) and fanout run on uWS: never on a JavaScript fallback.
      if (names.includes("ingest") || names.includes("fanout")) {
        const uws = assertNativeUws();
        rootLogger.info({ uws: uws.pkg, addon: uws.addon, node: process.version }, "uWebSockets.js native addon loaded");
      }
      const health = new Health(() => services);
      const services: Service[] = [];
      // PUBLIC_PORT (Render): one port in front of ingest + fanout; started first, stopped last.
      if (command === "all" && config.publicPort !== undefined) {
        services.push((await import("../common/single-port.ts")).singlePortService(config, config.publicPort));
      }
      for (const name of names) {
        const factory = await serviceFactories[name]?.();
        if (factory) services.push(await factory(config, health));
      }
      return runServices(config, services, health);
    }
    default:
      throw new ConfigError(
        `unknown command ${JSON.stringify(command ?? "")}: use ingest, processors, scheduler, fanout, all, migrate, topics, token, replay, dlq or check-config`,
      );
  }
}

main(process.argv.slice(2)).then(
  // Spans still buffered are exported before the process exits.
  async (code) => {
    await stopTelemetry();
    process.exit(code);
  },
  (err: Error) => {
    if (err instanceof ConfigError || err instanceof StartupError || err instanceof UwsError) {
      // One clear line for the operator, no stack trace.
      process.stderr.write(`taskstream: ${err.message}\n`);
    } else {
      rootLogger.fatal({ err }, "crashed");
    }
    process.exit(1);
  },
);
