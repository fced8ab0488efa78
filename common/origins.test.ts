import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { originMatcher, upgradeOriginAllowed } from "./origins.ts";

describe("CORS_ORIGINS matching", () => {
  const dev = originMatcher(loadConfig({}).corsOrigins);

  it("the dev default allows the dashboard on any localhost port and nothing else", () => {
    for (const o of ["http://localhost:5173", "http://localhost", "http://127.0.0.1:38080", "http://[::1]:5173", "HTTP://LOCALHOST:5173"])
      expect(dev(o), o).toBe(true);
    for (const o of [
      "https://localhost:5173",
      "http://localhost.evil.com",
      "http://evil.com",
      "http://localhost:5173.evil.com",
      "http://127.0.0.1.nip.io",
      "null",
      "",
    ])
      expect(dev(o), o).toBe(false);
  });

  it("supports exact origins, * as port, *. as first labels, * and none", () => {
    const m = originMatcher("https://app.example.com, https://*.example.org, http://intranet:*");
    expect(m("https://app.example.com")).toBe(true);
    expect(m("https://app.example.com:8443")).toBe(false);
    expect(m("http://app.example.com")).toBe(false);
    expect(m("https://a.b.example.org")).toBe(true);
    expect(m("https://example.org")).toBe(false);
    expect(m("https://evilexample.org")).toBe(false);
    expect(m("http://intranet:3000")).toBe(true);
    expect(originMatcher("*")("https://anything.test")).toBe(true);
    expect(originMatcher("none")("http://localhost:5173")).toBe(false);
  });

  it("a WebSocket upgrade without Origin is a non-browser client and allowed", () => {
    const none = originMatcher("none");
    expect(upgradeOriginAllowed(none, undefined)).toBe(true);
    expect(upgradeOriginAllowed(none, "")).toBe(true);
    expect(upgradeOriginAllowed(none, "https://evil.test")).toBe(false);
  });

  it("a malformed CORS_ORIGINS is refused at start-up, naming the setting", () => {
    expect(() => loadConfig({ CORS_ORIGINS: "localhost:5173" })).toThrow(/^CORS_ORIGINS=/);
    expect(() => loadConfig({ CORS_ORIGINS: "http://a.test/path" })).toThrow(/^CORS_ORIGINS=/);
    expect(loadConfig({ CORS_ORIGINS: "https://a.test, http://localhost:*" }).corsOrigins).toBe("https://a.test, http://localhost:*");
  });
});
