/** JWT verification against attacks: algorithm confusion, `kid` tricks, foreign and oversized tokens. */
import { createServer, type Server } from "node:http";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthError, claimsVerifier, isPathOfUser, KeysUnavailableError, signLocalToken, tokenVerifier } from "./auth.ts";
import { loadConfig } from "./config.ts";

describe("HS256 (JWT_SECRET)", () => {
  const config = loadConfig({});
  const verify = tokenVerifier(config);

  it("accepts a token of the local stack and returns its sub", async () => {
    expect(await verify(await signLocalToken(config, "alice"))).toBe("alice");
  });

  it("remembers a verified token until it expires, and not a tampered one", async () => {
    const claims = claimsVerifier(config);
    const token = await signLocalToken(config, "bob", "2s");
    expect(claims.known(token)).toBeUndefined(); // not verified yet: nothing known synchronously
    const first = await claims(token);
    expect(first.sub).toBe("bob");
    expect(await claims(token)).toBe(first); // the same object: not verified again
    expect(claims.known(token)).toBe(first);
    const [h, p] = token.split(".");
    const tampered = `${h}.${p}.${"A".repeat(43)}`;
    await expect(claims(tampered)).rejects.toBeInstanceOf(AuthError);
    expect(claims.known(tampered)).toBeUndefined();
    expect(claims.known(undefined)).toBeUndefined();
    expect(first.expiresAt).toBeLessThanOrEqual(Date.now() + 2000 + 5000 + 1000);
    vi.useFakeTimers({ toFake: ["Date"], now: first.expiresAt });
    try {
      expect(claims.known(token)).toBeUndefined(); // expired (tolerance included): verified afresh, and refused
      await expect(claims(token)).rejects.toBeInstanceOf(AuthError);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ["no token", undefined],
    ["an empty string", ""],
    ["a token over 8 KiB", "a".repeat(9000)],
  ])("refuses %s", async (_name, token) => {
    await expect(verify(token)).rejects.toBeInstanceOf(AuthError);
  });
});

describe("RS256 from a JWKS (JWT_JWKS_URL)", () => {
  let server: Server;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  let publicPem: string;
  let verify: ReturnType<typeof tokenVerifier>;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    privateKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    verify = tokenVerifier(
      loadConfig({ JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, JWT_ISSUER: "https://issuer.example", JWT_AUDIENCE: "taskstream" }),
    );
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const rs = (header: Record<string, unknown> = {}, claims: { iss?: string; aud?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1", ...header })
      .setSubject("alice")
      .setIssuer(claims.iss ?? "https://issuer.example")
      .setAudience(claims.aud ?? "taskstream")
      .setExpirationTime("5m")
      .sign(privateKey);

  it("accepts a token signed by the JWKS key", async () => {
    expect(await verify(await rs())).toBe("alice");
  });

  it("refuses HS256 signed with the public key (algorithm confusion)", async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setSubject("alice")
      .setIssuer("https://issuer.example")
      .setAudience("taskstream")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(publicPem));
    await expect(verify(forged)).rejects.toThrow(AuthError);
  });

  it.each([
    ["an unknown kid", { kid: "k2" }],
    ["a path-traversal kid", { kid: "../../../../etc/passwd" }],
    ["an injected jku", { jku: "http://evil.example/jwks.json", kid: "evil" }],
  ])("refuses %s", async (_name, header) => {
    await expect(verify(await rs(header))).rejects.toThrow(AuthError);
  });

  it("refuses another issuer or audience, saying which", async () => {
    await expect(verify(await rs({}, { iss: "https://evil.example" }))).rejects.toThrow(
      new AuthError('invalid token: unexpected "iss" claim value'),
    );
    await expect(verify(await rs({}, { aud: "someone-else" }))).rejects.toThrow(
      new AuthError('invalid token: unexpected "aud" claim value'),
    );
  });

  it("refuses alg none", async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    await expect(
      verify(`${b64({ alg: "none", kid: "k1" })}.${b64({ sub: "alice", exp: Math.floor(Date.now() / 1000) + 60 })}.`),
    ).rejects.toThrow(AuthError);
  });
});

describe("a signing key added to the JWKS", () => {
  it("is accepted 5 s after the first token that names it (jose's cooldown, 30 s by default)", async () => {
    const [one, two] = await Promise.all([
      generateKeyPair("RS256", { extractable: true }),
      generateKeyPair("RS256", { extractable: true }),
    ]);
    const jwk = async (pair: typeof one, kid: string) => ({ ...(await exportJWK(pair.publicKey)), kid, alg: "RS256" });
    let keys = [await jwk(one, "k1")];
    const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys })));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const sign = (pair: typeof one, kid: string) =>
      new SignJWT({}).setProtectedHeader({ alg: "RS256", kid }).setSubject("alice").setExpirationTime("1h").sign(pair.privateKey);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const verify = tokenVerifier(loadConfig({ JWT_JWKS_URL: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks` }));
      expect(await verify(await sign(one, "k1"))).toBe("alice");
      keys = [...keys, await jwk(two, "k2")];
      await expect(verify(await sign(two, "k2"))).rejects.toThrow(AuthError);
      vi.advanceTimersByTime(5_001);
      expect(await verify(await sign(two, "k2"))).toBe("alice");
    } finally {
      vi.useRealTimers();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("a JWKS server that fails (JWT_JWKS_URL)", () => {
  let token: string;
  const servers: Server[] = [];
  beforeAll(async () => {
    const pair = await generateKeyPair("RS256");
    token = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setSubject("alice")
      .setExpirationTime("5m")
      .sign(pair.privateKey);
  });
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  const serving = async (status: number, body: string) => {
    const server = createServer((_req, res) => res.writeHead(status, { "content-type": "application/json" }).end(body));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  };
  const closedPort = async () => {
    const url = await serving(200, "{}");
    await new Promise((r) => servers.pop()?.close(r));
    return url;
  };

  it.each([
    ["answers 500", () => serving(500, "{}")],
    ["answers what is not a key set", () => serving(200, '{"keys":"none"}')],
    ["is not listening", closedPort],
  ])("%s: the token is not refused, its keys are unavailable (503)", async (_name, url) => {
    const verify = tokenVerifier(loadConfig({ JWT_JWKS_URL: await url() }));
    await expect(verify(token)).rejects.toBeInstanceOf(KeysUnavailableError);
  });
});

describe("isPathOfUser", () => {
  it("takes the path's user id as sent or percent-decoded, nothing else", () => {
    expect(isPathOfUser("alice", "alice")).toBe(true);
    expect(isPathOfUser("auth0%7C123", "auth0|123")).toBe(true);
    expect(isPathOfUser(encodeURIComponent("josé a@b.c"), "josé a@b.c")).toBe(true);
    expect(isPathOfUser("50%off", "50%off")).toBe(true); // a literal % sent unencoded
    expect(isPathOfUser("a%41", "a%41")).toBe(true);
    expect(isPathOfUser("a%41", "aA")).toBe(true);
    expect(isPathOfUser("alice", "Alice")).toBe(false);
    expect(isPathOfUser("auth0%7C123", "auth0%7C1234")).toBe(false);
    expect(isPathOfUser("%E0%A4%A", "%E0%A4%Ax")).toBe(false); // not valid percent-encoding, and not the subject
    expect(isPathOfUser("a%2Fb", "a/b")).toBe(true);
    expect(isPathOfUser("a+b", "a b")).toBe(false); // + is a space only in query strings
  });
});
