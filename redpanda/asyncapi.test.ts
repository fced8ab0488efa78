import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../common/contracts/events.ts";
import { asyncapiFile, renderAsyncApi } from "./generate-asyncapi.ts";

describe("AsyncAPI document (redpanda/asyncapi.json)", () => {
  const rendered = renderAsyncApi();
  it("matches the TypeBox contracts and topics.json (run `npm run asyncapi`)", () => {
    expect(readFileSync(asyncapiFile, "utf8")).toBe(rendered);
  });
  it("is a valid AsyncAPI 3 document (@asyncapi/parser)", { timeout: 60_000 }, async () => {
    const { document, diagnostics } = await new Parser().parse(rendered);
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join(".")}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe("3.0.0");
    const names = new Set(
      document
        ?.channels()
        .all()
        .flatMap((c) =>
          c
            .messages()
            .all()
            .map((m) => m.name()),
        ),
    );
    for (const t of EVENT_TYPES) expect(names).toContain(t);
    expect(
      document
        ?.channels()
        .all()
        .map((c) => c.address()),
    ).toContain("/api/ws/{user_id}");
  });
});
