import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderSchemas, schemasDir } from "./generate-schemas.ts";

describe("committed JSON Schemas", () => {
  const rendered = renderSchemas();
  it("cover exactly the event types of the code", () => {
    expect(readdirSync(schemasDir).sort()).toEqual([...rendered.keys()].sort());
  });
  it.each([...rendered.keys()])("%s matches the TypeBox contract (run `npm run schemas`)", (name) => {
    expect(readFileSync(new URL(name, schemasDir), "utf8")).toBe(rendered.get(name));
  });
});
