/**
 * Keyset cursors of the lists, opaque to clients: the list's sort key, order, last sort value and
 * id (the activity feed: its last seq), signed (HMAC-SHA256) so a forged or altered cursor is
 * refused, and checked for type on the way back in, so even a correctly signed one can never reach
 * PostgreSQL as a value of the wrong type.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { isDateTime, isStorableText } from "../common/contracts/index.ts";
import { errors } from "../common/errors.ts";
import type { Cursor, SortBy } from "../storage/queries/tasks.ts";
import { isUuid } from "./task-state.ts";

/** A sort of the task list, or the one order of the tag list (lower(name)) or the reminder list (remind_at). */
export type CursorKey = SortBy | "tags" | "reminders";

const validValue: Record<CursorKey, (v: unknown) => boolean> = {
  created_at: (v) => typeof v === "string" && isDateTime(v),
  due_date: (v) => typeof v === "string" && (v === "infinity" || isDateTime(v)),
  priority: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 3,
  title: (v) => typeof v === "string" && v.length <= 1500 && isStorableText(v), // lower() of a title of 500 may be longer
  // lower() of a name of up to 64 characters can be a little longer than it.
  tags: (v) => typeof v === "string" && v.length <= 256 && isStorableText(v),
  reminders: (v) => typeof v === "string" && isDateTime(v),
};

export interface CursorCodec {
  encode(key: CursorKey, order: "asc" | "desc", c: Cursor): string;
  /** The position, or null when the cursor was not issued by us for this list and sort. */
  decode(s: string, key: CursorKey, order: "asc" | "desc"): Cursor | null;
  /** The activity feed's position: the seq of the last entry shown (unique per user, so no tie-breaker). */
  encodeSeq(seq: number): string;
  decodeSeq(s: string): number | null;
}

/**
 * A codec whose key comes later (loaded from PostgreSQL when tokens come from a JWKS server, which
 * leaves no secret of the deployment's own): until it is there, a list with or for a cursor is a
 * 503, as any read is while PostgreSQL cannot be reached.
 */
export function cursorCodecKeyedBy(key: Promise<string>): CursorCodec {
  let codec: CursorCodec | undefined;
  key.then(
    (k) => {
      codec = cursorCodec(k);
    },
    () => {},
  );
  const current = (): CursorCodec => {
    if (!codec) throw errors.unavailable("the cursor key is not loaded yet (PostgreSQL unreachable)");
    return codec;
  };
  return {
    encode: (...a) => current().encode(...a),
    decode: (...a) => current().decode(...a),
    encodeSeq: (seq) => current().encodeSeq(seq),
    decodeSeq: (s) => current().decodeSeq(s),
  };
}

export function cursorCodec(secret: string): CursorCodec {
  const key = createHmac("sha256", "taskstream-cursor").update(secret).digest();
  const sign = (body: string) => createHmac("sha256", key).update(body).digest().subarray(0, 16);
  const seal = (payload: unknown[]) => {
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `${body}.${sign(body).toString("base64url")}`;
  };
  /** The signed payload, or null when the signature does not hold. */
  const open = (s: string): unknown[] | null => {
    const [body, mac, extra] = s.split(".");
    if (!body || !mac || extra !== undefined) return null;
    const given = Buffer.from(mac, "base64url");
    const expected = sign(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return null;
    }
    return Array.isArray(parsed) ? parsed : null;
  };
  return {
    encode: (key, order, [value, id]) => seal([key, order, value, id]),
    decode(s, key, order) {
      const parsed = open(s);
      if (parsed === null || parsed.length !== 4) return null;
      const [by, ord, value, id] = parsed;
      if (by !== key || ord !== order || typeof id !== "string" || !isUuid(id) || !validValue[key](value)) return null;
      return [value as string | number, id];
    },
    encodeSeq: (seq) => seal(["activity", "desc", seq]),
    decodeSeq(s) {
      const parsed = open(s);
      if (parsed === null || parsed.length !== 3) return null;
      const [by, ord, seq] = parsed;
      return by === "activity" && ord === "desc" && typeof seq === "number" && Number.isSafeInteger(seq) && seq > 0 ? seq : null;
    },
  };
}
