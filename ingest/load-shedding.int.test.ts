/**
 * Load shedding on the real stack: with INGEST_MAX_IN_FLIGHT requests in progress, the next one is
 * answered 429 with Retry-After at once, nothing is stored for it, and the slot is free again as
 * soon as a request in progress ends. A request is held in progress by sending its body only in part.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signLocalToken } from "../common/auth.ts";
import { startSystem, testConfig, uniqueId } from "../test/harness.ts";

const config = testConfig();
let system: Awaited<ReturnType<typeof startSystem>>;
let user: string;
let token: string;
const base = `http://127.0.0.1:${config.ingestPort}`;

beforeAll(async () => {
  system = await startSystem(config, { INGEST_MAX_IN_FLIGHT: "1" });
  user = uniqueId("shed");
  token = await signLocalToken(config, user);
});
afterAll(async () => {
  expect(await system.stop()).toBe(0);
});

const create = (title: string) =>
  fetch(`${base}/api/${user}/tasks`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ title }),
  });

const metrics = async () => (await fetch(`${base}/metrics`)).text();

/** A create whose body is sent in two parts: until `finish`, the request is in progress. */
function heldCreate(title: string) {
  const body = JSON.stringify({ title });
  const socket: Socket = connect(config.ingestPort, "127.0.0.1");
  let response = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => {
    response += chunk;
  });
  socket.write(
    `POST /api/${user}/tasks HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`,
  );
  return {
    async finish(): Promise<string> {
      socket.write(body.slice(5));
      await vi.waitFor(() => expect(response).toMatch(/\r\n\r\n.+/s), { timeout: 10_000 });
      socket.end();
      return response;
    },
  };
}

describe("ingest load shedding (INGEST_MAX_IN_FLIGHT)", () => {
  it("answers 429 with Retry-After beyond the bound, stores nothing for it, and serves again once a slot frees", async () => {
    const held = heldCreate("held in progress");
    const list = () => fetch(`${base}/api/${user}/tasks`, { headers: { authorization: `Bearer ${token}` } });
    // Once the held request is in progress (the metrics endpoint is not one of the API's routes), the one slot is taken.
    await vi.waitFor(async () => expect(await metrics()).toMatch(/^taskstream_http_requests_in_flight 1$/m), { timeout: 10_000 });
    expect((await list()).status).toBe(429);
    const refused = await create("over the bound");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toMatch(/capacity/);

    expect(await held.finish()).toMatch(/^HTTP\/1\.1 202/);
    const after = await create("after the held one");
    expect(after.status).toBe(202);

    // Only the held write and the one after it were stored: the refused ones left nothing.
    await vi.waitFor(
      async () => {
        const { tasks } = (await (await list()).json()) as { tasks: { title: string }[] };
        expect(tasks.map((t) => t.title).sort()).toEqual(["after the held one", "held in progress"]);
      },
      { timeout: 10_000 },
    );
    expect(await metrics()).toMatch(/^taskstream_ingest_shed_total 2$/m);
  });
});
