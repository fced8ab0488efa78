/** Applied reminder.triggered events of a set of users, with when they were applied (bench/bench-lateness.ts). */
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

const AppliedTriggerRow = z.object({
  reminder_id: z.string(),
  remind_at: z.string(),
  fired_at: z.string(),
  /** When the processors' transaction that applied it began (events.applied_at). */
  applied_at: z.string(),
});
export type AppliedTrigger = z.infer<typeof AppliedTriggerRow>;

export async function appliedTriggers(db: CommonQueryMethods, userIds: readonly string[]): Promise<AppliedTrigger[]> {
  return [
    ...(await db.any(sql.type(AppliedTriggerRow)`
      select data->>'reminder_id' as reminder_id, data->>'remind_at' as remind_at, data->>'fired_at' as fired_at, applied_at
      from events where event_type = 'reminder.triggered' and user_id = any(${sql.array([...userIds], "text")})`)),
  ];
}
