// Dockerfile and .dockerignore checks: dockerfile-utils' validator (the linter of the VS
// Code Docker extension: instruction syntax, arguments, flags) plus project rules.
import { DockerfileParser } from "dockerfile-ast";
import { validate } from "dockerfile-utils";

export function lintDockerfile(text) {
  // severity 1 = error, 2 = warning
  return validate(text).map((d) => ({ line: d.range.start.line + 1, severity: d.severity, message: d.message }));
}

export const dockerfileChecks = [
  {
    id: "dockerfile-lint",
    title: "dockerfile-utils reports no error or warning",
    run({ dockerfile }) {
      return lintDockerfile(dockerfile).map((d) => `Dockerfile:${d.line}: ${d.severity === 1 ? "error" : "warning"}: ${d.message}`);
    },
  },
  {
    id: "dockerfile-rules",
    title:
      "multi-stage, pinned Node 22 base, dynamic librdkafka, npm ci, non-root USER, HEALTHCHECK, exec-form ENTRYPOINT on the compiled dist/ (no tsx), the four ports",
    run({ dockerfile }) {
      const out = [];
      const df = DockerfileParser.parse(dockerfile);
      const ins = df.getInstructions();
      const froms = df.getFROMs();
      if (froms.length < 2) out.push("not a multi-stage build (need a build stage and a runtime stage)");
      const args = Object.fromEntries(df.getARGs().map((a) => [a.getProperty()?.getName(), a.getProperty()?.getValue()]));
      for (const f of froms) {
        let image = f.getImage() ?? "";
        image = image.replace(/^\$\{?(\w+)\}?$/, (_, v) => args[v] ?? image);
        if (froms.some((g) => g !== f && g.getBuildStage() === image)) continue; // FROM <stage>
        if (/:latest$/.test(image) || !image.includes(":")) out.push(`FROM ${image} is not pinned`);
        if (!/^node:22[.-]/.test(image)) out.push(`FROM ${image}: the runtime is Node 22 (node:22.x-bookworm-slim, package.json engines)`);
      }
      // the final stage
      const lastFrom = froms[froms.length - 1];
      const finalIns = ins.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line);
      const kw = (k) => finalIns.filter((i) => i.getKeyword() === k);
      const user = kw("USER").pop()?.getArgumentsContent()?.trim();
      if (!user) out.push("final stage has no USER (runs as root)");
      else if (/^(0|root)(:|$)/.test(user)) out.push(`final stage USER ${user} is root`);
      else if (!/^\d+(:\d+)?$/.test(user)) out.push(`USER ${user} is not numeric (Kubernetes runAsNonRoot cannot verify a name)`);
      if (!kw("HEALTHCHECK").length) out.push("final stage has no HEALTHCHECK");
      const ep = kw("ENTRYPOINT").pop()?.getArgumentsContent()?.trim() ?? "";
      if (!ep.startsWith("[")) out.push("ENTRYPOINT is not in exec form (signals would not reach node)");
      if (!/dist\/bin\/taskstream\.js/.test(ep)) out.push("ENTRYPOINT does not run dist/bin/taskstream.js (what `npm start --` runs)");
      if (/tsx/.test(ep)) out.push("ENTRYPOINT runs TypeScript through tsx: production runs the compiled dist/");
      const exposed = kw("EXPOSE").flatMap((e) => e.getArgumentsContent().split(/\s+/));
      for (const p of ["8080", "8081", "8082", "8090"]) if (!exposed.includes(p)) out.push(`EXPOSE lacks ${p}`);
      const code = dockerfile
        .split("\n")
        .filter((l) => !/^\s*#/.test(l))
        .join("\n"); // comments do not count
      if (!/CKJS_LINKING=dynamic/.test(code))
        out.push("build stage does not set CKJS_LINKING=dynamic (librdkafka would try to download its deps)");
      if (!/npm ci\b/.test(code)) out.push("dependencies are not installed with npm ci (lockfile)");
      const finalText = finalIns.map((i) => i.getTextContent?.() ?? "").join("\n");
      for (const lib of ["libssl3", "zlib1g", "libzstd1", "libsasl2-2"])
        if (!finalText.includes(lib)) out.push(`runtime stage does not install ${lib} (librdkafka links to it)`);
      return out;
    },
  },
  {
    id: "dockerignore",
    title: ".dockerignore keeps node_modules, .git, env files, Terraform state and kubeconfigs out of the build context",
    run({ dockerignore, dockerfile }) {
      const out = [];
      const lines = dockerignore
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"));
      for (const want of [".git", "**/node_modules", "**/.env", "**/*.tfstate", "**/.terraform"])
        if (!lines.includes(want)) out.push(`.dockerignore lacks ${want}`);
      const hc = /HEALTHCHECK[\s\S]*?CMD\s+\[[^\]]*"\/app\/([^"]+)"/.exec(dockerfile)?.[1];
      if (hc && lines.includes(hc.split("/")[0]) && !lines.includes(`!${hc}`))
        out.push(`.dockerignore excludes ${hc}, which HEALTHCHECK runs`);
      return out;
    },
  },
];
