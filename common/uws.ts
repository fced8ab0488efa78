/**
 * The native uWebSockets.js addon, checked at start-up. Some npm builds of uWS (the
 * @trufflesuite alias used before) silently fall back to a JavaScript `ws` shim when no binary
 * matches the running Node ABI; hyper-express and the fan-out would then run on a slower,
 * incomplete implementation (`app.publish` throws on Node 24). `assertNativeUws` refuses that.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";

const require = createRequire(import.meta.url);

export class UwsError extends Error {
  override name = "UwsError";
}

export interface UwsInfo {
  /** The `.node` file that was loaded. */
  addon: string;
  /** The package the `uWebSockets.js` alias resolves to, e.g. `@based/uws@6.0.1`. */
  pkg: string;
}

/** Loads uWebSockets.js and returns which native addon backs it; throws UwsError if none does. */
export function assertNativeUws(): UwsInfo {
  // uWS v20.51 answers a plain, bodiless 431 to any request whose headers exceed
  // UWS_HTTP_MAX_HEADERS_SIZE, read once when the addon loads (default 4 KiB: too small for the
  // JWTs of some identity providers). 256 KiB unless the operator set it, so the application's
  // own limit (16 KiB, ingest/http.ts) answers the contract's JSON 431 for anything a client
  // plausibly sends; only beyond that does uWS answer its own bodiless 431 (still no reset).
  process.env.UWS_HTTP_MAX_HEADERS_SIZE ??= String(256 * 1024);
  let entry: string;
  let uws: { App?: unknown };
  try {
    entry = require.resolve("uWebSockets.js");
    uws = require("uWebSockets.js");
  } catch (err) {
    throw new UwsError(`uWebSockets.js does not load on node ${process.version}: ${(err as Error).message.split("\n")[0]}`);
  }
  const dir = dirname(entry);
  const addon = Object.keys(require.cache).find((k) => k.startsWith(dir) && k.endsWith(".node"));
  const native = typeof uws.App === "function" && /\[native code\]/.test(Function.prototype.toString.call(uws.App));
  if (!addon || !native) {
    throw new UwsError(
      `uWebSockets.js (${dir}) is not the native addon on node ${process.version} (ABI ${process.versions.modules}): ` +
        "a JavaScript fallback was loaded; install the alias of package.json (npm ci) on Node 22",
    );
  }
  const { name, version } = require(`${dir}/package.json`) as { name: string; version: string };
  return { addon, pkg: `${name}@${version}` };
}
