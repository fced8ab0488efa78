/**
 * Writes the JSON Schema of every event type to redpanda/schemas/, from the TypeBox contracts.
 * `npm run schemas` regenerates; redpanda/schemas.test.ts fails when the files drift from the code.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { EVENT_TYPES, eventSchemas, TaskEvent } from "../common/contracts/events.ts";

export const schemasDir = new URL("./schemas/", import.meta.url);

/** File name -> JSON text, exactly as committed. */
export function renderSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  const render = (schema: unknown) =>
    `${JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...(schema as object) }, null, 2)}\n`;
  for (const type of EVENT_TYPES) files.set(`${type}.json`, render(eventSchemas[type]));
  files.set("event.json", render(TaskEvent));
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(schemasDir, { recursive: true });
  for (const [name, text] of renderSchemas()) writeFileSync(new URL(name, schemasDir), text);
  console.log(`wrote ${renderSchemas().size} schemas to ${schemasDir.pathname}`);
}
