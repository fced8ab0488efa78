/**
 * Load shedding on the real stack: with INGEST_MAX_IN_FLIGHT requests in progress, the next one is
 * answered 429 with Retry-After at once, nothing is stored for it, and the slot is free again as
 * soon as the request in progress ends. A request is held in progress by the token check: ingest
 * verifies tokens against a JWKS endpoint this test serves, and holds that endpoint's first answer.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LOCAL_JWT_SECRET } from "../common/config.ts";
import { startSystem, testConfig, uniqueId } from "../test/harness.ts";
import { cursorCodec } from "./cursor.ts";

const config = testConfig();
const base = `http://127.0.0.1:${config.ingestPort}`;
const user = uniqueId("shed");
let system: Awaited<ReturnType<typeof startSystem>>;
let jwksServer: Server;
let token: string;
let jwksAsked = 0;
let releaseJwks: () => void = () => {};
const jwksReleased = new Promise<void>((resolve) => {
  releaseJwks = resolve;
});

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "shed", alg: "ES256", use: "sig" }] });
  jwksServer = createServer((_req, res) => {
    jwksAsked++;
    void jwksReleased.then(() => res.writeHead(200, { "content-type": "application/json" }).end(jwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  const { port } = jwksServer.address() as AddressInfo;
  token = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "shed" }).setSubject(user).setExpirationTime("1h").sign(privateKey);
  system = await startSystem(config, { INGEST_MAX_IN_FLIGHT: "1", JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` });
});
afterAll(async () => {
  releaseJwks();
  expect(await system.stop()).toBe(0);
  jwksServer.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });
const create = (title: string) =>
  fetch(`${base}/api/${user}/tasks`, {
    method: "POST",
    headers: { ...auth(), "content-type": "application/json" },
    body: JSON.stringify({ title }),
  });
const list = () => fetch(`${base}/api/${user}/tasks`, { headers: auth() });
const metrics = async () => (await fetch(`${base}/metrics`)).text();

describe("ingest load shedding (INGEST_MAX_IN_FLIGHT)", () => {
  it("answers 429 with Retry-After beyond the bound, stores nothing for it, and serves again once the slot frees", async () => {
    // The first request waits in its token check for the JWKS answer: it holds the one slot.
    const held = list();
    await vi.waitFor(() => expect(jwksAsked).toBe(1), { timeout: 10_000 });
    expect(await metrics()).toMatch(/^taskstream_http_requests_in_flight 1$/m);

    const refused = await create("over the bound");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toMatch(/capacity/);

    releaseJwks();
    expect((await held).status).toBe(200);
    expect((await create("after the slot freed")).status).toBe(202);

    // Only the write made after the slot freed was stored: the refused one left nothing.
    await vi.waitFor(
      async () => {
        const { tasks } = (await (await list()).json()) as { tasks: { title: string }[] };
        expect(tasks.map((t) => t.title)).toEqual(["after the slot freed"]);
      },
      { timeout: 10_000 },
    );
    const scraped = await metrics();
    expect(scraped).toMatch(/^taskstream_ingest_shed_total 1$/m);
    expect(scraped).toMatch(/^taskstream_http_requests_in_flight 0$/m);
  });
});

describe("list cursors with JWKS tokens", () => {
  it("are signed with the deployment's key in PostgreSQL: they page on, and one signed with the dev HS256 default is refused", async () => {
    releaseJwks();
    for (const title of ["c1", "c2"]) expect((await create(title)).status).toBe(202);
    await vi.waitFor(async () => expect(((await (await list()).json()) as { tasks: unknown[] }).tasks.length).toBeGreaterThanOrEqual(3), {
      timeout: 10_000,
    });
    const page = async (cursor?: string) =>
      fetch(`${base}/api/${user}/tasks?limit=1${cursor ? `&cursor=${cursor}` : ""}`, { headers: auth() });
    const first = (await (await page()).json()) as { next_cursor: string };
    const second = await page(first.next_cursor);
    expect(second.status).toBe(200);
    const forged = cursorCodec(LOCAL_JWT_SECRET).encode("created_at", "desc", ["2026-01-01T00:00:00.000Z", randomUUID()]);
    const refused = await page(forged);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { details: { path: string }[] } }).error.details.map((d) => d.path)).toEqual(["cursor"]);
  });
});
