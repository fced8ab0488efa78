/**
 * What clients receive: the applied event envelope plus `type` (= event_type), serialised once.
 * The Redis stream, the pub/sub channel, the WebSocket and the polling API all carry these bytes.
 */
import type { AppliedEvent } from "./events.ts";

export const wireMessage = (event: AppliedEvent): string => JSON.stringify({ type: event.event_type, ...event });

/**
 * The pub/sub frame, published on the user's own channel (`keys.userChannel`):
 * `<seq>\n<timestamp ms>\n<wire message>`. The channel names the user, so the frame does not; the
 * fan-out routes and measures latency from the header lines without parsing the JSON.
 */
export const pubsubFrame = (event: AppliedEvent, wire: string): string => `${event.seq}\n${Date.parse(event.timestamp)}\n${wire}`;

export interface PubsubFrame {
  userId: string;
  seq: number;
  timestampMs: number;
  wire: string;
}

/** `userId` is the user whose channel carried the frame. */
export function parsePubsubFrame(userId: string, frame: string): PubsubFrame | null {
  const a = frame.indexOf("\n");
  const b = frame.indexOf("\n", a + 1);
  if (a < 0 || b < 0) return null;
  const seq = Number(frame.slice(0, a));
  const timestampMs = Number(frame.slice(a + 1, b));
  if (!Number.isSafeInteger(seq) || !Number.isFinite(timestampMs)) return null;
  return { userId, seq, timestampMs, wire: frame.slice(b + 1) };
}
