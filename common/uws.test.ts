import { describe, expect, it } from "vitest";
import { assertNativeUws } from "./uws.ts";

describe("uWebSockets.js", () => {
  it("is the native addon for this Node ABI, not a JavaScript fallback", () => {
    const info = assertNativeUws();
    expect(info.addon).toMatch(new RegExp(`uws_${process.platform}_${process.arch}_${process.versions.modules}\\.node$`));
    expect(info.pkg).toBe("@based/uws@6.0.1");
  });

  it("runs on Node 22 (package.json engines)", () => {
    expect(process.versions.node.split(".")[0]).toBe("22");
  });
});
