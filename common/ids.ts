import { createHash } from "node:crypto";

/**
 * A name-based (version 5 layout, SHA-1) UUID: the same namespace and name always give the same
 * id, so a redelivered event or a replay rebuilds the same ids.
 */
export function nameBasedUuid(namespace: string, name: string): string {
  const h = createHash("sha1").update(`${namespace}:${name}`).digest("hex");
  const variant = ((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}
