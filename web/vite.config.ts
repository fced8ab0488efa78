/**
 * The dashboard's Vite config: `npm run dev:web` (also started by `make dev`) serves it on
 * WEB_PORT (5173) with a dev-only token endpoint; `npm run build:web` writes static files to
 * web/dist for any static host.
 */
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { signLocalToken } from "../common/auth.ts";
import { LOCAL_JWT_SECRET, loadConfig } from "../common/config.ts";

/**
 * GET /dev-token?user=<id>: a token for the local stack, like `make token`. Only on the dev
 * server (never in the built files), and only while the stack runs with the documented local
 * secret, which production refuses to start with, so it cannot mint tokens anything else accepts.
 */
function devToken(): Plugin {
  return {
    name: "taskstream-dev-token",
    apply: "serve",
    configureServer(server) {
      server.middlewares.use("/dev-token", (req, res) => {
        const config = loadConfig();
        const user = new URL(req.url ?? "", "http://x").searchParams.get("user") ?? "";
        res.setHeader("content-type", "application/json");
        res.setHeader("cache-control", "no-store");
        if (config.jwtJwksUrl || config.jwtSecret !== LOCAL_JWT_SECRET) {
          res.statusCode = 404;
          res.end(
            JSON.stringify({ error: { code: "not_found", message: "dev tokens exist only with the local dev secret", details: [] } }),
          );
          return;
        }
        if (!/^[A-Za-z0-9._@-]{1,128}$/.test(user)) {
          res.statusCode = 400;
          res.end(
            JSON.stringify({ error: { code: "validation_failed", message: "user must be 1-128 of A-Z a-z 0-9 . _ @ -", details: [] } }),
          );
          return;
        }
        void signLocalToken(config, user).then((token) => res.end(JSON.stringify({ token })));
      });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  plugins: [devToken()],
  server: { host: process.env.WEB_HOST ?? "localhost", port: Number(process.env.WEB_PORT ?? 5173), strictPort: true },
  preview: { host: process.env.WEB_HOST ?? "localhost", port: Number(process.env.WEB_PORT ?? 5173), strictPort: true },
  build: { outDir: process.env.WEB_OUT_DIR ?? "dist", emptyOutDir: true, target: "es2022" },
  logLevel: "warn",
});
