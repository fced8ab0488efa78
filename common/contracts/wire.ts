/**
 * What clients receive: the applied event envelope plus `type` (= event_type), serialised once.
 * The Redis stream, the pub/sub channel, the WebSocket and the polling API all carry these bytes.
 */
import type { AppliedEvent } from "./events.ts";

export const wireMessage = (event: AppliedEvent): string => JSON.stringify({ type: event.event_type, ...event });

/**
 * The pub/sub frame: `<user_id>\n<seq>\n<timestamp ms>\n<wire message>`. The fan-out routes and
 * measures latency from the header lines without parsing the JSON.
 */
export const pubsubFrame = (event: AppliedEvent, wire: string): string =>
  `${event.user_id}\n${event.seq}\n${Date.parse(event.timestamp)}\n${wire}`;

export interface PubsubFrame {
  userId: string;
  seq: number;
  timestampMs: number;
  wire: string;
}

export function parsePubsubFrame(frame: string): PubsubFrame | null {
  const a = frame.indexOf("\n");
  const b = frame.indexOf("\n", a + 1);
  const c = frame.indexOf("\n", b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  return {
    userId: frame.slice(0, a),
    seq: Number(frame.slice(a + 1, b)),
    timestampMs: Number(frame.slice(b + 1, c)),
    wire: frame.slice(c + 1),
  };
}
