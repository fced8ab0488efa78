/**
 * Starting while the broker is down: every process starts (the broker's readiness check fails),
 * writes are accepted into the fallback queue, and once the broker answers the processes become
 * ready and the queued writes are delivered. The broker is reached through a local TCP proxy that
 * refuses connections until the test opens it (clients then follow the broker's advertised address).
 */
import { createServer, type Server, connect as tcpConnect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { createTopics } from "../../redpanda/create-topics.ts";
import { apiClient, envFor, eventually, startProcess, testConfig, uniqueId } from "../harness.ts";

const config = testConfig();
const [brokerHost, brokerPort] = config.kafkaBrokers.split(",")[0]!.split(":") as [string, string];
let proxy: Server | undefined;
let system: ReturnType<typeof startProcess> | undefined;

afterAll(async () => {
  system?.child.kill("SIGTERM");
  await system?.exited;
  proxy?.close();
});

const ready = async (port: number) =>
  fetch(`http://127.0.0.1:${port}/readyz`).then(
    async (r) => ({ ok: r.ok, body: await r.text() }),
    () => ({ ok: false, body: "" }),
  );

describe("broker down at start", () => {
  it("starts every process, queues writes, and becomes ready and delivers once the broker is back", async () => {
    await createTopics(config);
    // A free port that nothing listens on yet.
    const probe = createServer().listen(0);
    await new Promise((r) => probe.once("listening", r));
    const port = (probe.address() as { port: number }).port;
    probe.close();

    system = startProcess(
      ["all"],
      envFor(config, { KAFKA_BROKERS: `127.0.0.1:${port}`, DEPENDENCY_TIMEOUT_MS: "2000", RATE_LIMIT_BURST: "1000" }),
    );
    // Up and answering, not ready: the broker check names what is missing.
    const notReady = await eventually(
      async () => {
        const r = await ready(config.processorsPort);
        return r.body.includes("not connected to the broker") ? r : undefined;
      },
      30_000,
      "processors answering /readyz",
    );
    expect(notReady.ok).toBe(false);

    const id = uniqueId("early");
    const api = apiClient(config, id, await signLocalToken(config, id));
    // Every process is up (ingest listens last in `all`).
    await eventually(async () => (await ready(config.ingestPort)).body !== "", 30_000, "ingest answering");
    const res = await api("POST", "/tasks", { title: "written before the broker came up" });
    expect(res.status).toBe(202);
    expect(res.body.queued).toBe(true);
    // Queued, not applied: the list shows it all the same (read your writes), filtered as asked.
    const listed = await api("GET", "/tasks?status=pending");
    expect(listed.body.tasks.map((t: { id: string }) => t.id)).toEqual([res.body.task.id]);
    expect((await api("GET", "/tasks?status=completed")).body.tasks).toEqual([]);

    proxy = createServer((c) => {
      const upstream = tcpConnect(Number(brokerPort), brokerHost);
      c.pipe(upstream).pipe(c);
      c.on("error", () => upstream.destroy());
      upstream.on("error", () => c.destroy());
    }).listen(port);

    for (const p of [config.ingestPort, config.processorsPort, config.schedulerPort, config.fanoutPort])
      await eventually(async () => (await ready(p)).ok, 60_000, `readiness on ${p}`);
    const events = await eventually(async () => {
      const r = await api("GET", "/events?since=0");
      return r.body.events?.length === 1 ? r.body.events : undefined;
    }, 30_000);
    expect(events[0]).toMatchObject({ event_type: "task.created", event_id: res.body.event_id, seq: 1 });
  }, 120_000);
});
