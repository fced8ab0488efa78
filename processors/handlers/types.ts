import type { DatabaseTransactionConnection } from "slonik";
import type { EventOf, EventType, RejectReason } from "../../common/contracts/index.ts";

/** What a handler did with one event. Only `applied` events get a seq and reach clients. */
export type Outcome =
  | {
      kind: "applied";
      /** The event's data as stored and sent (an update gains the real old values). */
      data?: unknown;
      /** One line for the activity feed. */
      summary: string;
      /** The task the activity entry belongs to, if any. */
      taskId?: string;
    }
  /** Already done (a duplicate trigger): nothing stored, nobody notified. */
  | { kind: "skipped"; reason: string }
  /**
   * Not applied (the task no longer exists, a name is taken, a later write won): the user gets a
   * write.rejected event with `code`; a failure goes to the dead-letter topic with the reason too.
   */
  | { kind: "rejected"; code: RejectReason; reason: string };

export interface ApplyContext {
  tx: DatabaseTransactionConnection;
  /** The version this event gets on its aggregate; call once per applied event. */
  nextVersion(aggregateId: string): Promise<number>;
}

export type Handler<K extends EventType> = (event: EventOf<K>, ctx: ApplyContext) => Promise<Outcome>;
export type HandlerMap = { [K in EventType]: Handler<K> };
