/** WebSocket abuse: oversized frames, floods, too many connections, slow readers. Others stay unaffected. */

import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { signLocalToken } from "../common/auth.ts";
import { apiClient, startSystem, testConfig, uniqueId, wsConnect } from "../test/harness.ts";

const extra = { WS_MAX_CONNECTIONS_PER_USER: "3", WS_MAX_BACKPRESSURE_BYTES: "65536", REPLAY_MAX_EVENTS: "5000" };
const config = testConfig(extra);
let system: Awaited<ReturnType<typeof startSystem>>;
beforeAll(async () => {
  system = await startSystem(config, extra);
});
afterAll(async () => {
  await system.stop();
});

const user = async () => {
  const id = uniqueId("abuse");
  return { id, token: await signLocalToken(config, id) };
};

/** The head of the server's answer to a raw upgrade request with `protocol` as Sec-WebSocket-Protocol (none: no such header). */
function upgradeHead(path: string, protocol?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(config.fanoutPort, "127.0.0.1", () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
          (protocol === undefined ? "" : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
          "\r\n",
      ),
    );
    let head = "";
    socket.on("data", (d: Buffer) => {
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.destroy();
      resolve(head.slice(0, end));
    });
    socket.on("error", reject);
  });
}

describe("Sec-WebSocket-Protocol", () => {
  it("the 101 names the first subprotocol offered, or none when the header is no list of tokens (never echoed garbled)", async () => {
    const u = await user();
    const path = `/api/ws/${u.id}?token=${u.token}`;
    const cases: [string | undefined, string | null][] = [
      [undefined, null],
      [", ,,;;", null],
      ["a b c", null],
      [",,", null],
      ["a, b c", null],
      ["a, b", "a"],
      [" , chat ", "chat"],
    ];
    for (const [offered, named] of cases) {
      const head = await upgradeHead(path, offered);
      expect(head.split("\r\n")[0], JSON.stringify(offered)).toBe("HTTP/1.1 101 Switching Protocols");
      const answered = /^sec-websocket-protocol:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? null;
      expect(answered, JSON.stringify(offered)).toBe(named);
    }
    // A conforming client that offers subprotocols gets one it offered; one that offers none, none.
    for (const protocols of [["v1", "v2"], []]) {
      const ws = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}${path}`, protocols);
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      expect(ws.protocol).toBe(protocols[0] ?? "");
      ws.close();
    }
  });
});

describe("upgrade refusals", () => {
  it("a bad `since` is a 400 whose details name it, as the HTTP API's", async () => {
    const u = await user();
    for (const since of ["abc", "-1"]) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(config.fanoutPort, "127.0.0.1", () =>
          socket.write(
            `GET /api/ws/${u.id}?token=${u.token}&since=${since} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
          ),
        );
        let text = "";
        socket.on("data", (d: Buffer) => {
          text += d.toString("utf8");
          if (/\r\n\r\n[\s\S]*\}\s*$/.test(text)) socket.destroy();
        });
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
      });
      expect(answer.split("\r\n")[0], since).toBe("HTTP/1.1 400 Bad Request");
      expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).error, since).toMatchObject({
        code: "validation_failed",
        details: [{ path: "since" }],
      });
    }
  });
});

describe("WebSocket abuse", () => {
  it("closes a socket that sends an oversized frame (1009) and one that floods (1008)", async () => {
    const u = await user();
    for (const size of [10_000, 64 * 1024 + 1, 1024 * 1024]) {
      const raw = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}/api/ws/${u.id}?token=${u.token}`);
      await new Promise((r) => raw.once("open", r));
      raw.send("x".repeat(size));
      expect(await new Promise<number>((r) => raw.once("close", (code) => r(code))), `${size} bytes`).toBe(1009);
    }

    const flood = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}/api/ws/${u.id}?token=${u.token}`);
    await new Promise((r) => flood.once("open", r));
    for (let i = 0; i < 100; i++) flood.send("hi");
    expect(await new Promise<number>((r) => flood.once("close", (code) => r(code)))).toBe(1008);

    // Pings too: uWS answers them itself, and 118,000 of them in 1.5 s were not limited.
    const pings = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}/api/ws/${u.id}?token=${u.token}`);
    await new Promise((r) => pings.once("open", r));
    for (let i = 0; i < 100; i++) pings.ping("hi");
    expect(await new Promise<number>((r) => pings.once("close", (code) => r(code)))).toBe(1008);
  });

  it("refuses connections beyond the per-user cap at the upgrade (429), without affecting other users", async () => {
    const u = await user();
    const other = await user();
    const open = await Promise.all([0, 1, 2].map(() => wsConnect(config, u.id, u.token)));
    await expect(wsConnect(config, u.id, u.token)).rejects.toMatchObject({ status: 429, headers: { "retry-after": "5" } });
    const bystander = await wsConnect(config, other.id, other.token);
    await apiClient(config, other.id, other.token)("POST", "/tasks", { title: "still served" });
    await bystander.waitFor((m) => m.type === "task.created");
    for (const c of [...open, bystander]) c.close();
  });

  it("closes a client that stops reading as a slow consumer, and it resumes with since losing nothing", { timeout: 180_000 }, async () => {
    const u = await user();
    const api = apiClient(config, u.id, u.token);
    // A reader that never reads: pause the socket so the server's buffer fills.
    const slow = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}/api/ws/${u.id}?token=${u.token}`);
    await new Promise((r) => slow.once("open", r));
    const closed = new Promise<number>((r) => slow.once("close", (code) => r(code)));
    (slow as any)._socket.pause();
    // ~15 MB while it does not read: more than the kernel buffers on both ends absorb.
    const description = "d".repeat(10_000);
    let written = 0;
    while (written < 1500) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, i) => api("POST", "/tasks", { title: `bulk ${written + i}`, description })),
      );
      expect(batch.every((r) => r.status === 202)).toBe(true);
      written += 25;
    }
    (slow as any)._socket.resume();
    // 4008 when the close frame gets through; a reader that stopped entirely sees the drop (1006).
    expect([4008, 1006]).toContain(await closed);
    const metrics = await (await fetch(`http://127.0.0.1:${config.fanoutPort}/metrics`)).text();
    expect(metrics).toMatch(/taskstream_ws_slow_consumer_closed_total [1-9]/);
    const resumed = await wsConnect(config, u.id, u.token, 0);
    const events = await resumed.waitFor((m) => m.type === "task.created", written, 60_000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: written }, (_, i) => i + 1));
    resumed.close();
  });

  it("holds a replaying client's live events within WS_MAX_BACKPRESSURE_BYTES, and it still gets every event once, in order", {
    timeout: 240_000,
  }, async () => {
    const u = await user();
    const api = apiClient(config, u.id, u.token);
    const description = "d".repeat(10_000);
    let written = 0;
    const write = async (n: number) => {
      const batch = await Promise.all(
        Array.from({ length: n }, (_, i) => api("POST", "/tasks", { title: `bulk ${written + i}`, description })),
      );
      expect(batch.every((r) => r.status === 202)).toBe(true);
      written += n;
    };
    // A history larger than the kernel buffers on both ends absorb, so the replay waits for the reader.
    while (written < 1500) await write(25);
    const overflows = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${config.fanoutPort}/metrics`)).text();
      return Number(/taskstream_ws_replay_buffer_overflows_total (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    const before = await overflows();
    const slow = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}/api/ws/${u.id}?token=${u.token}&since=0`);
    const seqs: number[] = [];
    let ready = false;
    slow.on("message", (m) => {
      const message = JSON.parse(String(m));
      if (message.type === "task.created") seqs.push(message.seq);
      if (message.type === "ready") ready = true;
    });
    await new Promise((r) => slow.once("open", r));
    (slow as any)._socket.pause();
    // Live events while the replay waits for the reader: past the limit the socket stops holding them.
    await vi.waitFor(
      async () => {
        await write(5);
        expect(await overflows()).toBeGreaterThan(before);
      },
      { timeout: 120_000, interval: 100 },
    );
    expect(ready).toBe(false);
    (slow as any)._socket.resume();
    await vi.waitFor(() => expect(seqs.length).toBe(written), { timeout: 90_000, interval: 200 });
    expect(seqs).toEqual(Array.from({ length: written }, (_, i) => i + 1));
    expect(ready).toBe(true);
    slow.close();
  });
});
