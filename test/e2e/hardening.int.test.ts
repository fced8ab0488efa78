/**
 * Hostile input on the real stack: nothing a client sends, nor a raw record on a topic, can stall
 * a partition, answer 5xx or vanish silently after 202; one user's events reach the socket with no
 * seq gap whatever the order the processors' batches reach Redis in.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLocalToken } from "../../common/auth.ts";
import { type AppliedEvent, newEvent, serializeEvent, type TaskEvent, topicName } from "../../common/contracts/index.ts";
import { createKafka, createProducer, type Producer } from "../../common/kafka.ts";
import { createDb, type Db } from "../../common/postgres.ts";
import { createRedis, redisKeys } from "../../common/redis.ts";
import { timezoneMoveEventId } from "../../common/series.ts";
import { BODY_TIMEOUT_MS } from "../../ingest/http.ts";
import { applyBatch } from "../../processors/apply-batch.ts";
import { defineAppendAndPublish, publishApplied } from "../../processors/publish.ts";
import { apiClient, eventIdsThroughMarker, eventually, startSystem, taskFields, testConfig, uniqueId, wsConnect } from "../harness.ts";

const config = testConfig();
let system: Awaited<ReturnType<typeof startSystem>>;
let producer: Producer;
const kafka = createKafka(config, "hardening-test");
const deadLetters: { key: string; reason: string; value: string }[] = [];
const dlqReader = kafka.consumer({ kafkaJS: { groupId: `dlq-reader-${randomUUID()}`, fromBeginning: true } });

const user = async (label: string) => {
  const id = uniqueId(label);
  const token = await signLocalToken(config, id);
  return { id, token, api: apiClient(config, id, token) };
};

beforeAll(async () => {
  system = await startSystem(config);
  producer = createProducer(kafka);
  await producer.connect();
  await dlqReader.connect();
  await dlqReader.subscribe({ topic: topicName(config.topicPrefix, "deadLetters") });
  await dlqReader.run({
    eachMessage: async ({ message }) => {
      deadLetters.push({ key: String(message.key), reason: String(message.headers?.["x-dlq-reason"]), value: String(message.value) });
    },
  });
  const w = await user("warmup");
  const ws = await wsConnect(config, w.id, w.token);
  await w.api("POST", "/tasks", { title: "warm-up" });
  await ws.waitFor((m) => m.type === "task.created", 1, 30_000);
  ws.close();
}, 120_000);

afterAll(async () => {
  await dlqReader.disconnect();
  await producer.disconnect();
  expect(await system.stop()).toBe(0);
});

/** A write by `bystander` reaches their socket within 1 s: the pipeline (and its partitions) kept moving. */
async function stillMoving(bystander: Awaited<ReturnType<typeof user>>) {
  const ws = await wsConnect(config, bystander.id, bystander.token);
  await ws.waitFor((m) => m.type === "ready");
  const res = await bystander.api("POST", "/tasks", { title: `after ${randomUUID()}` });
  expect(res.status).toBe(202);
  await ws.waitFor((m) => m.type === "task.created" && m.event_id === res.body.event_id, 1, 1000);
  ws.close();
}

describe("hostile input is refused at the edge with a 400 naming the field", () => {
  const lateDue = "9999-12-31T23:59:59-23:59";
  const bodies: [string, string, string, unknown, string][] = [
    ["NUL in a title", "POST", "/tasks", { title: "a\u0000b" }, "title"],
    ["lone surrogate in a title", "POST", "/tasks", '{"title":"\\ud800"}', "title"],
    ["NUL in a description", "POST", "/tasks", { title: "t", description: "x\u0000" }, "description"],
    ["NUL in a tag", "POST", "/tasks", { title: "t", tags: ["ok", "b\u0000d"] }, "tags[1]"],
    [
      "NUL in a reminder",
      "POST",
      "/tasks",
      { title: "t", due_date: "2030-01-01T00:00:00Z", reminders: [{ before: "PT1H\u0000" }] },
      "reminders[0].before",
    ],
    ["NUL in a timezone", "POST", "/tasks", { title: "t", timezone: "UTC\u0000" }, "timezone"],
    ["NUL in a field name", "POST", "/tasks", { title: "t", "x\u0000": 1 }, "x?"],
    ["due date in year 0000", "POST", "/tasks", { title: "t", due_date: "0000-01-01T00:00:00Z" }, "due_date"],
    ["due date normalising to year 10000", "POST", "/tasks", { title: "t", due_date: lateDue }, "due_date"],
    ["due date before 1970", "POST", "/tasks", { title: "t", due_date: "1969-12-31T23:00:00Z" }, "due_date"],
    [
      "reminder that lands before 1970",
      "POST",
      "/tasks",
      { title: "t", due_date: "1970-01-01T00:30:00Z", reminders: [{ before: "PT1H" }] },
      "reminders[0].before",
    ],
    ["NUL in a tag name", "POST", "/tags", { name: "a\u0000" }, "name"],
    ["NUL in settings", "PUT", "/settings", { timezone: "Europe/Paris\u0000" }, "timezone"],
  ];
  it.each(bodies)("%s", async (_name, method, path, body, field) => {
    const victim = await user("victim");
    const res = await victim.api(method, path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
    // Nothing stored: the user's feed is empty.
    expect((await victim.api("GET", "/events?since=0")).body.events).toEqual([]);
  });

  const queries: [string, string, string][] = [
    ["NUL in search", "search=a%00b", "query.search"],
    ["NUL in tags", "tags=a%00", "query.tags"],
    ["due_date_start in year 0000", "due_date_start=0000-01-01T00:00:00Z", "due_date_start"],
    ["due_date_end after 9999", `due_date_end=${encodeURIComponent(lateDue)}`, "due_date_end"],
  ];
  it.each(queries)("%s", async (_name, query, field) => {
    const victim = await user("reader");
    const res = await victim.api("GET", `/tasks?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
  });

  it("refuses forged cursors of every shape", async () => {
    const victim = await user("pager");
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const forged = [
      b64(["not a timestamp", randomUUID()]),
      b64([null, randomUUID()]),
      b64([{ a: 1 }, randomUUID()]),
      b64([99, randomUUID()]),
      b64(["2026-01-01T00:00:00Z", "-".repeat(36)]),
      `${b64(["created_at", "desc", "2026-01-01T00:00:00.000Z", randomUUID()])}.AAAAAAAAAAAAAAAAAAAAAA`,
    ];
    for (const cursor of forged) {
      for (const sort of ["", "&sort_by=priority", "&sort_by=due_date", "&sort_by=title"]) {
        const res = await victim.api("GET", `/tasks?cursor=${encodeURIComponent(cursor)}${sort}`);
        expect(res.status, `${cursor} ${sort}`).toBe(400);
        expect(res.body.error.details[0].path).toBe("cursor");
      }
    }
  });

  it("refuses a cursor issued for another sort, and pages with a real one", async () => {
    const u = await user("pages");
    for (let i = 0; i < 3; i++) await u.api("POST", "/tasks", { title: `t${i}` });
    await eventually(async () => (await u.api("GET", "/tasks")).body.tasks.length === 3);
    const first = await u.api("GET", "/tasks?limit=2");
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect((await u.api("GET", `/tasks?limit=2&cursor=${first.body.next_cursor}`)).body.tasks).toHaveLength(1);
    expect((await u.api("GET", `/tasks?limit=2&sort_by=title&cursor=${first.body.next_cursor}`)).status).toBe(400);
  });

  it("refuses a query parameter given twice, and bodies nested deep or just under the limit, on one kept-alive connection", async () => {
    const u = await user("shapes");
    for (const q of ["limit=1&limit=2", "search=a&search=b", "cursor=a&cursor=b"]) {
      const res = await u.api("GET", `/tasks?${q}`);
      expect(res.status, q).toBe(400);
    }
    for (const depth of [1000, 20_000, 30_000]) {
      const res = await u.api("POST", "/tasks", `{"title":${"[".repeat(depth)}${"]".repeat(depth)}}`);
      expect(res.status, String(depth)).toBe(400);
    }
    const res = await u.api("POST", "/tasks", JSON.stringify({ title: "x", pad: "p".repeat(60_000) }));
    expect(res.body.error.details[0]).toMatchObject({ path: "pad" });
  });

  it("answers a NUL in a path parameter with a 4xx, never a 5xx", async () => {
    const u = await user("path");
    for (const path of ["/tasks/a%00b", "/tasks/a%00b/history", "/tags/%00"]) {
      const res = await u.api(path.startsWith("/tags") ? "DELETE" : "GET", path);
      expect([400, 404], path).toContain(res.status);
    }
  });

  it("keeps every partition moving afterwards", async () => {
    await stillMoving(await user("bystander"));
  });
});

/** Writes raw bytes to ingest and resolves with everything it answers until it closes the connection. */
async function untilClosed(...writes: string[]): Promise<string> {
  const { connect } = await import("node:net");
  const socket = connect(config.ingestPort, "127.0.0.1");
  socket.on("error", () => {}); // the server may close while the request is still being written
  const closed = new Promise<string>((resolve) => {
    let got = "";
    socket.on("data", (d) => {
      got += d.toString();
    });
    socket.on("close", () => resolve(got));
  });
  for (const w of writes) if (!socket.destroyed) socket.write(w);
  return closed;
}

/**
 * Sends `requests` on one connection, each once the answer before it has arrived; resolves with
 * the answers. Every answer but the last has no body (HEAD): its headers end it. The last closes.
 */
async function inTurn(port: number, requests: string[]): Promise<string[]> {
  const { connect } = await import("node:net");
  const socket = connect(port, "127.0.0.1");
  const answers: string[] = [];
  let got = "";
  return new Promise<string[]>((resolve, reject) => {
    const next = () => socket.write(requests[answers.length] as string);
    socket.on("connect", next);
    socket.on("error", reject);
    socket.on("data", (d) => {
      got += d.toString();
      const end = got.indexOf("\r\n\r\n");
      if (answers.length < requests.length - 1 && end >= 0) {
        answers.push(got.slice(0, end + 4));
        got = got.slice(end + 4);
        next();
      }
    });
    socket.on("close", () => resolve([...answers, got]));
  });
}

/** One chunk of a chunked body. */
const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

describe("reads of large events", () => {
  it("come in pages of about 1 MiB (history and polling), every event once, in order", async () => {
    const u = await user("big-events");
    // ~60 KB of JSON each (a control character is escaped to six bytes), old and new value per update.
    const text = (n: number) => `${n}${"\u0001".repeat(9990)}`;
    const created = await u.api("POST", "/tasks", { title: "big", description: text(0) });
    const id = created.body.task.id;
    for (let n = 1; n <= 12; n++) expect((await u.api("PATCH", `/tasks/${id}`, { description: text(n) })).status).toBe(202);
    const marker = await u.api("POST", "/tasks", { title: "marker" });
    await eventually(async () => (await u.api("GET", `/events?since=13&limit=1`)).body.events[0]?.event_id === marker.body.event_id);

    const history: { seq: number }[][] = [];
    for (let after: number | null = 0; after !== null; ) {
      const page = await u.api("GET", `/tasks/${id}/history${after ? `?after=${after}` : ""}`);
      expect(page.status).toBe(200);
      history.push(page.body.events);
      after = page.body.next_after;
    }
    expect(history.length).toBeGreaterThan(1);
    expect(history.flat().map((e) => e.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));

    const polled: { seq: number }[][] = [];
    for (let since = 0; since < 14; ) {
      const page = await u.api("GET", `/events?since=${since}&limit=1000`);
      expect(JSON.stringify(page.body).length).toBeLessThan(1.3 * 1024 * 1024);
      polled.push(page.body.events);
      since = page.body.events.at(-1).seq;
    }
    expect(polled.length).toBeGreaterThan(1);
    expect(polled.flat().map((e) => e.seq)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
  });
});

describe("transport limits answer with the contract's JSON errors", () => {
  it("431 for an oversized token, over HTTP and at the WebSocket upgrade", async () => {
    const u = await user("big-token");
    const huge = "x".repeat(100_000);
    // Over a kept-alive connection, after another request on it (uWS 20.30 used to reset it).
    await u.api("GET", "/tasks");
    const res = await fetch(`http://127.0.0.1:${config.ingestPort}/api/${u.id}/tasks`, { headers: { authorization: `Bearer ${huge}` } });
    expect(res.status).toBe(431);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("headers_too_large");
    await expect(wsConnect(config, u.id, huge)).rejects.toMatchObject({ status: 431 });
  });

  it("431 with the JSON error for headers over 16 KiB at the WebSocket upgrade, a valid token or not", async () => {
    const u = await user("big-headers");
    const { default: WebSocket } = await import("ws");
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${config.fanoutPort}/api/ws/${u.id}?token=${u.token}`, {
        headers: { "x-filler": "y".repeat(20_000) },
      });
      ws.once("open", () => reject(new Error("upgraded")));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refused.status).toBe(431);
    expect((JSON.parse(refused.body) as { error: { code: string } }).error.code).toBe("headers_too_large");
  });

  it("413 at once for a body declared larger than the limit, without waiting for it", async () => {
    const u = await user("big-body");
    const { connect } = await import("node:net");
    const socket = connect(config.ingestPort, "127.0.0.1");
    const answer = new Promise<string>((resolve) => {
      let got = "";
      socket.on("data", (d) => {
        got += d.toString();
        if (got.includes("}}")) resolve(got);
      });
    });
    // Declares 50 MB, sends 20 bytes: the answer must not wait for the rest.
    socket.write(
      `POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n{"title":"x"`,
    );
    const text = await answer;
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 413/);
    expect(JSON.parse(text.slice(text.indexOf("{"))).error.code).toBe("payload_too_large");
  });

  it("a write whose connection uWS closes as it is read (a request pipelined behind it, a chunked body's trailers) stores nothing", async () => {
    const u = await user("closed-while-read");
    const head = `Host: x\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/json\r\n`;
    const body = (title: string) => JSON.stringify({ title });
    const created = await u.api("POST", "/tasks", { title: "kept" });
    // uWS closes the connection without an answer in both cases (README: pipelining is not supported).
    for (const [name, packet] of [
      [
        "pipelined create",
        `POST /api/${u.id}/tasks HTTP/1.1\r\n${head}Content-Length: ${body("piped").length}\r\n\r\n${body("piped")}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
      ],
      [
        "pipelined completion",
        `POST /api/${u.id}/tasks/${created.body.task.id}/complete HTTP/1.1\r\n${head}Content-Length: 0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
      ],
      [
        "trailers",
        `POST /api/${u.id}/tasks HTTP/1.1\r\n${head}Transfer-Encoding: chunked\r\n\r\n${chunk(body("trailed"))}0\r\nX-Checksum: 1\r\n\r\n`,
      ],
    ])
      expect(await untilClosed(packet as string), name as string).not.toMatch(/^HTTP\/1\.1 202/);
    // The user's writes apply in order: once a marker written after them is applied, any of them would be too.
    expect((await eventIdsThroughMarker(u.api)).slice(0, -1)).toEqual([created.body.event_id]);
  });

  it("400 naming Content-Length, and a closed connection, for two different lengths; ingest keeps serving", async () => {
    const u = await user("ambiguous-length");
    const body = '{"title":"framed"}';
    const head = `POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/json\r\n`;
    const send = (lengths: number[], extra = "") =>
      untilClosed(`${head}${extra}${lengths.map((n) => `Content-Length: ${n}\r\n`).join("")}\r\n${body}`);
    // uWS frames a body by the first Content-Length, hyper-express sized its buffer by the last:
    // a body longer than the last value crashed ingest.
    for (const lengths of [
      [body.length, 5],
      [5, body.length],
    ]) {
      const text = await send(lengths);
      expect(text, `Content-Length ${lengths.join(", ")}`).toMatch(/^HTTP\/1\.1 400[\s\S]*\r\nConnection: close\r\n/i);
      expect(JSON.parse(text.slice(text.indexOf("{"))).error.details).toEqual([
        { path: "Content-Length", message: "is given twice with different values" },
      ]);
    }
    expect((await u.api("GET", "/tasks")).body.tasks).toEqual([]);
    // The same length twice is no ambiguity.
    expect(await send([body.length, body.length], "Connection: close\r\n")).toMatch(/^HTTP\/1\.1 202/);
    await stillMoving(await user("after-ambiguous-length"));
  });

  it("400 naming the header for a header of one value given twice with different values; the connection keeps serving", async () => {
    const u = await user("header-twice");
    const other = await user("header-twice-other");
    const body = '{"title":"twice"}';
    const post = (headers: string) =>
      `POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${body.length}\r\n\r\n${body}`;
    const json = "Content-Type: application/json\r\n";
    const auth = `Authorization: Bearer ${u.token}\r\n`;
    for (const [name, headers] of [
      ["Authorization", `${auth}Authorization: Bearer ${other.token}\r\n${json}`],
      ["Content-Type", `${auth}Content-Type: text/plain\r\n${json}`],
      ["Idempotency-Key", `${auth}${json}Idempotency-Key: a\r\nIdempotency-Key: b\r\n`],
    ]) {
      const text = await untilClosed(post(headers as string), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(text, name).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(text.slice(text.indexOf("{"), text.indexOf("HTTP/1.1 200"))).error.details).toEqual([
        { path: name, message: "is given twice with different values" },
      ]);
      expect(text, `${name}: the next request on the connection`).toMatch(/HTTP\/1\.1 200 OK[\s\S]*"status":"ok"/);
    }
    // The same value twice is no ambiguity.
    expect(await untilClosed(post(`${auth}${auth}${json}Connection: close\r\n`))).toMatch(/^HTTP\/1\.1 202/);
    expect((await u.api("GET", "/tasks")).body.tasks.map((t: { title: string }) => t.title)).toEqual(["twice"]);
  });

  it("a chunked body is read up to the limit: 413 and a closed connection past it, accepted within it", async () => {
    const u = await user("chunked");
    const head = `POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n`;
    const pieces = Array.from({ length: Math.ceil((2 * config.bodyLimitBytes) / (16 * 1024)) }, () => chunk("y".repeat(16 * 1024)));
    const text = await untilClosed(`${head}\r\n${chunk(`{"title":"big","description":"`)}`, ...pieces);
    expect(text).toMatch(/^HTTP\/1\.1 413[\s\S]*\r\nConnection: close\r\n/i);
    expect(JSON.parse(text.slice(text.indexOf("{"))).error.code).toBe("payload_too_large");

    const small = `${head}Connection: close\r\n\r\n${chunk('{"title":')}${chunk('"chunked"}')}0\r\n\r\n`;
    expect(await untilClosed(small)).toMatch(/^HTTP\/1\.1 202/);
    // Read your writes: the list right after the 202 shows it.
    expect((await u.api("GET", "/tasks")).body.tasks.map((t: { title: string }) => t.title)).toEqual(["chunked"]);
  });

  it("408 with the JSON body, before uWS's own idle timeout closes the connection, for a body that stops arriving", async () => {
    const u = await user("stalled-body");
    const started = Date.now();
    const text = await untilClosed(
      `POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 408[\s\S]*\r\nConnection: close\r\n/i);
    expect(JSON.parse(text.slice(text.indexOf("{"))).error.code).toBe("request_timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS);
  }, 30_000);

  it("400 naming Transfer-Encoding, and a closed connection, for a coding other than chunked", async () => {
    const u = await user("transfer-coding");
    const body = `${chunk('{"title":"coded"}')}0\r\n\r\n`;
    for (const coding of ["Chunked", "gzip, chunked"]) {
      const text = await untilClosed(
        `POST /api/${u.id}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${coding}\r\n\r\n${body}`,
      );
      expect(text, coding).toMatch(/^HTTP\/1\.1 400[\s\S]*\r\nConnection: close\r\n/i);
      expect(JSON.parse(text.slice(text.indexOf("{"))).error.details[0].path).toBe("Transfer-Encoding");
    }
  });

  it("compares the token's subject with the path's user id as the client encoded it, over HTTP and at the WebSocket", async () => {
    // Identity providers' subjects hold characters a URL carries percent-encoded (client/ encodes them).
    for (const id of [`auth0|${uniqueId("enc")}`, `${uniqueId("mail")}@example.com`, `josé ${uniqueId("space")}`]) {
      const token = await signLocalToken(config, id);
      const encoded = encodeURIComponent(id);
      const ws = await wsConnect(config, encoded, token);
      await ws.waitFor((m) => m.type === "ready");
      const res = await apiClient(config, encoded, token)("POST", "/tasks", { title: "encoded" });
      expect(res.status, id).toBe(202);
      await ws.waitFor((m) => m.type === "task.created" && m.event_id === res.body.event_id);
      ws.close();
      expect((await apiClient(config, encodeURIComponent(`${id}x`), token)("GET", "/tasks")).status).toBe(403);
      expect((await apiClient(config, "%E0%A4%A", token)("GET", "/tasks")).status).toBe(403);
    }
  });

  it("HEAD is a GET without its body, on ingest and the fan-out; the connection serves the next request", async () => {
    const u = await user("head");
    const auth = `Host: x\r\nAuthorization: Bearer ${u.token}\r\n`;
    const last = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // One answer at a time: uWS does not pipeline behind a response still in progress (README).
    const answers = await inTurn(config.ingestPort, [
      `HEAD /api/${u.id}/tasks HTTP/1.1\r\n${auth}\r\n`,
      `HEAD /api/${u.id}/tasks/${randomUUID()}/complete HTTP/1.1\r\n${auth}\r\n`,
      "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      last,
    ]);
    expect(answers.map((a) => a.split("\r\n")[0])).toEqual([
      "HTTP/1.1 200 OK",
      "HTTP/1.1 405 Method Not Allowed",
      "HTTP/1.1 200 OK",
      "HTTP/1.1 200 OK",
    ]);
    expect(answers[1]).toMatch(/\r\nallow: POST\r\n/i);
    expect(answers[3]).toMatch(/\r\n\r\n\{"status":"ok"/);
    const fanout = await inTurn(config.fanoutPort, [
      "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      "HEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\n",
      last,
    ]);
    expect(fanout.map((a) => a.split("\r\n")[0])).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"]);
    expect(fanout[2]).toMatch(/\r\n\r\n\{"status":"ok"/);
  });

  it("413 with the JSON body for a body over 2 MiB that is actually sent", async () => {
    const u = await user("huge-body");
    const res = await u.api("POST", "/tasks", JSON.stringify({ title: "x", description: "y".repeat(3 * 1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });
});

/** Sends raw records to a topic keyed like ingest would, but by `key` (which picks the partition). */
async function sendRaw(topic: "taskEvents" | "reminders", key: string, values: (string | TaskEvent)[]) {
  await producer.send({
    topic: topicName(config.topicPrefix, topic),
    messages: values.map((v) => ({ key, value: typeof v === "string" ? Buffer.from(v) : serializeEvent(v) })),
  });
}

const ctxFor = (userId: string, aggregateId = randomUUID()) => ({
  user_id: userId,
  aggregate_id: aggregateId,
  correlation_id: randomUUID(),
});

describe("records that cannot be applied never stall their partition", () => {
  it("dead-letters poison on task-events and reminders with the reason; the partition's next writes still arrive", async () => {
    const bystander = await user("same-partition");
    const victim = `victim-${randomUUID()}`;
    const nul = newEvent("task.created", ctxFor(victim), { task: taskFields({ title: "a\u0000b" }) });
    const year0 = newEvent("task.created", ctxFor(victim), { task: taskFields({ due_date: "0000-01-01T00:00:00Z" }) });
    // Parses, but PostgreSQL refuses it (a task id that is not a uuid): per-event isolation.
    const badId = newEvent("task.created", ctxFor(victim, "not-a-uuid" as never), { task: taskFields({ title: "bad id" }) });
    const badTrigger = newEvent("reminder.triggered", ctxFor(victim, "not-a-uuid" as never), {
      reminder_id: randomUUID(),
      remind_at: new Date().toISOString(),
      fired_at: new Date().toISOString(),
      late: false,
      title: "x",
    });
    // The bystander's key: the poison sits on the bystander's partitions of both topics.
    await sendRaw("taskEvents", bystander.id, [serializeEvent(nul).toString(), serializeEvent(year0).toString(), badId]);
    await sendRaw("reminders", bystander.id, [badTrigger]);
    await stillMoving(bystander);
    const letters = await eventually(
      () => {
        const mine = deadLetters.filter((l) => l.key === bystander.id);
        return mine.length >= 4 ? mine : undefined;
      },
      30_000,
      "four dead letters",
    );
    const reasonOf = (id: string) => letters.find((l) => l.value.includes(id))?.reason;
    expect(reasonOf(nul.event_id)).toMatch(/NUL|surrogate/);
    expect(reasonOf(year0.event_id)).toMatch(/due_date/);
    expect(reasonOf(badId.event_id)).toMatch(/invalid: cannot be applied/);
    expect(reasonOf(badTrigger.event_id)).toMatch(/invalid: cannot be applied/);
  }, 60_000);

  it("dead-letters an event the processors made themselves whole (a timezone move that cannot apply), keyed by its user", async () => {
    const u = await user("move-letter");
    // 10:00 in UTC with a 9 h reminder; kept at 10:00 in Tokyo, the reminder would fall in 1969.
    const series = await u.api("POST", "/tasks", {
      title: "early series",
      due_date: "1970-01-01T10:00:00Z",
      recurrence_rule: "FREQ=DAILY",
      reminders: [{ before: "PT9H" }],
    });
    expect(series.status).toBe(202);
    const settings = await u.api("PUT", "/settings", { timezone: "Asia/Tokyo" });
    expect(settings.status).toBe(202);
    const move = timezoneMoveEventId(settings.body.event_id, series.body.task.id);
    const letter = await eventually(() => deadLetters.find((l) => l.value.includes(move)), 30_000, "the move's dead letter");
    expect(letter).toMatchObject({ key: u.id, reason: expect.stringMatching(/^invalid: /) });
    expect(JSON.parse(letter.value)).toMatchObject({ event_id: move, event_type: "task.updated", aggregate_id: series.body.task.id });
  }, 60_000);
});

describe("writes accepted with 202 are never dropped silently", () => {
  it("an update of a task that does not exist (deleted meanwhile) reaches its user as write.rejected, live and by polling", async () => {
    const u = await user("late-update");
    const ws = await wsConnect(config, u.id, u.token);
    await ws.waitFor((m) => m.type === "ready");
    const update = newEvent("task.updated", ctxFor(u.id), { changes: { title: { old: "a", new: "b" } } });
    await sendRaw("taskEvents", u.id, [update]);
    const [m] = await ws.waitFor((x) => x.type === "write.rejected");
    expect(m).toMatchObject({
      event_type: "write.rejected",
      user_id: u.id,
      aggregate_id: update.aggregate_id,
      correlation_id: update.correlation_id,
      seq: 1,
      data: { event_id: update.event_id, event_type: "task.updated", correlation_id: update.correlation_id, reason: "not_found" },
    });
    const polled = await u.api("GET", "/events?since=0");
    expect(polled.body.events.map((e: { event_type: string }) => e.event_type)).toEqual(["write.rejected"]);
    const activity = await u.api("GET", "/activity-logs");
    expect(activity.body.activity[0]).toMatchObject({ action: "write.rejected" });
    ws.close();
  });

  it("the second of two deletes or skips sent at once (a double click) reaches its writer as write.rejected, not silence", async () => {
    const u = await user("double-click");
    const ws = await wsConnect(config, u.id, u.token);
    await ws.waitFor((m) => m.type === "ready");
    const series = await u.api("POST", "/tasks", {
      title: "daily",
      due_date: "2030-01-01T09:00:00Z",
      recurrence_rule: "FREQ=DAILY",
      reminders: [{ before: "PT1H" }],
    });
    const tag = await u.api("POST", "/tags", { name: "Home" });
    await ws.waitFor((m) => m.event_id === tag.body.event_id);
    const task = series.body.task;
    const reminderId = task.reminders[0].id;
    const twice = <T extends TaskEvent>(make: () => T) => [make(), make()];
    // A skip as ingest writes it (a task.updated with skip: true; recurring.skipped in earlier logs, see evolve.test.ts).
    const skips = twice(() =>
      newEvent("task.updated", ctxFor(u.id, task.id), {
        changes: { next_occurrence: { old: task.next_occurrence, new: "2030-01-03T09:00:00.000Z" } },
        skip: true,
      }),
    );
    const reminderDeletes = twice(() => newEvent("reminder.deleted", ctxFor(u.id, task.id), { reminder_id: reminderId }));
    const tagDeletes = twice(() => newEvent("tag.deleted", ctxFor(u.id, tag.body.tag.id), {}));
    await sendRaw("taskEvents", u.id, [...skips, ...reminderDeletes, ...tagDeletes]);
    const rejected = await ws.waitFor((m) => m.type === "write.rejected", 3);
    expect(rejected.map((m) => [m.data.event_id, m.data.reason])).toEqual([
      [skips[1]?.event_id, "conflict"],
      [reminderDeletes[1]?.event_id, "not_found"],
      [tagDeletes[1]?.event_id, "not_found"],
    ]);
    for (const first of [skips[0], reminderDeletes[0], tagDeletes[0]])
      expect(ws.messages.some((m) => m.event_id === first?.event_id && m.type === first?.event_type)).toBe(true);
    ws.close();
  });

  it("the second of two tags with one name gets write.rejected (conflict); a redelivery changes nothing", async () => {
    const u = await user("tag-race");
    const ws = await wsConnect(config, u.id, u.token);
    await ws.waitFor((m) => m.type === "ready");
    const first = newEvent("tag.created", ctxFor(u.id), { name: "Home", color: null });
    const second = newEvent("tag.created", ctxFor(u.id), { name: "home", color: null });
    await sendRaw("taskEvents", u.id, [first, second, second]);
    const [rejected] = await ws.waitFor((x) => x.type === "write.rejected");
    expect(rejected.data).toMatchObject({ event_id: second.event_id, reason: "conflict" });
    // A marker after the redelivered copy: once it arrives, the copy was handled.
    const marker = await u.api("POST", "/tasks", { title: "marker" });
    await ws.waitFor((x) => x.event_id === marker.body.event_id);
    expect(ws.messages.filter((x) => x.type !== "ready").map((x) => [x.seq, x.type])).toEqual([
      [1, "tag.created"],
      [2, "write.rejected"],
      [3, "task.created"],
    ]);
    ws.close();
  });
});

describe("gapless per-user delivery", () => {
  let db: Db;
  const redis = createRedis(config, "hardening-test");
  const keys = redisKeys(config.redisPrefix);
  beforeAll(async () => {
    db = await createDb(config, 2);
    defineAppendAndPublish(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await db.end();
  });

  it("delivers every seq in order when a later batch reaches Redis before an earlier one", async () => {
    const u = await user("interleaved");
    const ws = await wsConnect(config, u.id, u.token);
    await ws.waitFor((m) => m.type === "ready");
    // Two batches of one user, as two topics' consumers would apply them: A commits seq 1-2, B seq 3.
    const a = await applyBatch(db, [
      newEvent("task.created", ctxFor(u.id), { task: taskFields({ title: "a1" }) }),
      newEvent("task.created", ctxFor(u.id), { task: taskFields({ title: "a2" }) }),
    ]);
    const b = await applyBatch(db, [newEvent("task.created", ctxFor(u.id), { task: taskFields({ title: "b3" }) })]);
    expect([...a.applied, ...b.applied].map((e) => e.seq)).toEqual([1, 2, 3]);
    // B publishes first (the interleaving that used to leave a permanent hole), then A.
    await publishApplied(redis, db, keys, b.applied, 1000);
    await publishApplied(redis, db, keys, a.applied, 1000);
    const got = await ws.waitFor((m) => m.type === "task.created", 3);
    expect(got.map((m: AppliedEvent) => m.seq)).toEqual([1, 2, 3]);
    // A marker after A's late publish: by then a duplicate would have arrived.
    const marker = await u.api("POST", "/tasks", { title: "marker" });
    await ws.waitFor((m) => m.event_id === marker.body.event_id);
    expect(ws.messages.filter((m) => m.type === "task.created").map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    // The stream has no hole either: a replay from 0 is the same four.
    const replay = await wsConnect(config, u.id, u.token, 0);
    const replayed = await replay.waitFor((m) => m.type === "ready");
    expect(replayed).toHaveLength(1);
    expect(replay.messages.filter((m) => m.type === "task.created").map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    replay.close();
    ws.close();
  });

  it("replays a long history in pages, every seq once and in order, then goes live", async () => {
    const u = await user("long-history");
    for (let i = 0; i < 3; i++) {
      const batch = Array.from({ length: 500 }, (_, j) =>
        newEvent("task.created", ctxFor(u.id), { task: taskFields({ title: `h${i}.${j}` }) }),
      );
      await publishApplied(redis, db, keys, (await applyBatch(db, batch)).applied, 1000);
    }
    const ws = await wsConnect(config, u.id, u.token, 0);
    await ws.waitFor((m) => m.type === "ready", 1, 30_000);
    const marker = await u.api("POST", "/tasks", { title: "live" });
    await ws.waitFor((m) => m.event_id === marker.body.event_id);
    const seqs = ws.messages.filter((m) => m.type === "task.created").map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 1501 }, (_, i) => i + 1));
    ws.close();
  }, 60_000);
});

describe("sockets and tokens", () => {
  it("closes a socket with 4001 when its token expires", async () => {
    const id = uniqueId("expiring");
    const ws = await wsConnect(config, id, await signLocalToken(config, id, "1s"));
    await ws.waitFor((m) => m.type === "ready");
    expect(await ws.closed).toBe(4001);
  }, 20_000);
});

describe("recurrence bombs", () => {
  it("are refused or evaluated within bounds; every process's /healthz keeps answering at once", async () => {
    const u = await user("bomber");
    const ports = [config.ingestPort, config.processorsPort, config.schedulerPort, config.fanoutPort];
    let worst = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        for (const port of ports) {
          const t = performance.now();
          const res = await fetch(`http://127.0.0.1:${port}/healthz`);
          expect(res.status).toBe(200);
          worst = Math.max(worst, performance.now() - t);
        }
      }
    })();
    const everyDay = Array.from({ length: 31 }, (_, i) => i + 1).join(",");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
    const bombs = [
      { title: "daily since 1970", due_date: "1970-01-01T00:00:00Z", recurrence_rule: "FREQ=DAILY;COUNT=20000" },
      { title: "monthly, every day, since 1970", due_date: "1970-01-01T00:00:00Z", recurrence_rule: `FREQ=MONTHLY;BYMONTHDAY=${everyDay}` },
      {
        title: "weekly, every day",
        due_date: "1970-01-05T00:00:00Z",
        recurrence_rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;COUNT=100000",
      },
    ];
    const accepted: string[] = [];
    for (const bomb of bombs) {
      const res = await u.api("POST", "/tasks", bomb);
      expect([202, 400], bomb.title).toContain(res.status);
      if (res.status === 202) accepted.push(res.body.task.id);
      else expect(res.body.error.details[0].path).toBe("recurrence_rule");
    }
    for (const id of accepted) {
      await eventually(async () => (await u.api("GET", `/tasks/${id}`)).status === 200);
      const res = await u.api("PATCH", `/tasks/${id}`, { recurrence_rule: `FREQ=MONTHLY;BYMONTHDAY=${everyDay};UNTIL=${yesterday}` });
      expect([202, 400]).toContain(res.status);
    }
    // The scheduler catches the accepted series up (one late instance each) while the probes run.
    const instances = await eventually(async () => {
      const list = await u.api("GET", "/tasks?limit=200");
      const spawned = list.body.tasks.filter((t: { parent_task_id: string | null }) => t.parent_task_id !== null);
      return spawned.length >= 1 ? spawned : undefined;
    }, 30_000);
    expect(instances.length).toBeGreaterThanOrEqual(1);
    probing = false;
    await probe;
    console.info(`slowest /healthz answer while the bombs ran: ${worst.toFixed(0)} ms`);
    // The issue's budget is 100 ms (met on an idle box); the bound here leaves room for a loaded
    // 2-core CI box running the whole stack (the quadratic catch-up this guards against took ~5 s).
    expect(worst).toBeLessThan(500);
  }, 60_000);
});
