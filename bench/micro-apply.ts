/**
 * Micro-benchmark of the processors' PostgreSQL step alone: applyBatch() on batches of
 * `task.created` events (the e2e suites' workload), against the bench stack's database. No broker,
 * no Redis: it isolates the round trips per batch, which is what bounds the processors on a busy box.
 * Also counts the statements each batch sends (wrapping the transaction's query methods).
 *
 *   eval "$(STACK_PROFILE=bench STACK_PORT_BASE=4 stack/up.sh | grep '^export ')"
 *   node --import tsx bench/micro-apply.ts            # BATCH=100 BATCHES=30 USERS=20 TAGS=0
 */
import { randomUUID } from "node:crypto";
import { loadConfig } from "../common/config.ts";
import { newEvent, type TaskEvent } from "../common/contracts/index.ts";
import { openDb } from "../common/deps.ts";
import { applyBatch } from "../processors/apply-batch.ts";

const BATCH = Number(process.env.BATCH ?? 100);
const BATCHES = Number(process.env.BATCHES ?? 30);
const USERS = Number(process.env.USERS ?? 20);
const TAGS = Number(process.env.TAGS ?? 0);
const run = `m${Date.now().toString(36)}`;

const config = loadConfig();
const db = await openDb(config, 2, { keyLookups: true }); // as the processors open it

// Count statements: slonik's transaction connection is handed to the callback; wrap its methods.
let statements = 0;
const origTransaction = db.transaction.bind(db);
(db as unknown as { transaction: typeof db.transaction }).transaction = ((fn: (tx: unknown) => Promise<unknown>) =>
  origTransaction(async (tx) => {
    const counted = new Proxy(tx, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (
          typeof v === "function" &&
          ["query", "any", "one", "oneFirst", "maybeOne", "many", "anyFirst", "exists"].includes(String(prop))
        ) {
          return (...args: unknown[]) => {
            statements++;
            return v.apply(target, args);
          };
        }
        return v;
      },
    });
    return fn(counted);
  })) as typeof db.transaction;

function batch(): TaskEvent[] {
  return Array.from({ length: BATCH }, (_, i) =>
    newEvent("task.created", { user_id: `${run}-u${i % USERS}`, aggregate_id: randomUUID(), correlation_id: randomUUID() }, {
      task: {
        title: `micro ${i}`,
        description: null,
        priority: "medium",
        due_date: null,
        timezone: "UTC",
        recurrence_rule: null,
        next_occurrence: null,
        parent_task_id: null,
        tags: Array.from({ length: TAGS }, (_, t) => `tag${t}`),
        reminders: [],
      },
    } as never),
  );
}

await applyBatch(db, batch()); // warm-up
const times: number[] = [];
statements = 0;
for (let b = 0; b < BATCHES; b++) {
  const events = batch();
  const t = process.hrtime.bigint();
  const r = await applyBatch(db, events);
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (r.applied.length !== BATCH) throw new Error(`applied ${r.applied.length} of ${BATCH}: ${JSON.stringify(r.rejected.slice(0, 1))}`);
}
times.sort((a, b) => a - b);
const mean = times.reduce((a, b) => a + b, 0) / times.length;
console.log(
  JSON.stringify({
    batch: BATCH,
    batches: BATCHES,
    tags_per_task: TAGS,
    statements_per_batch: statements / BATCHES,
    ms_per_batch_p50: +times[Math.floor(times.length / 2)].toFixed(1),
    ms_per_batch_mean: +mean.toFixed(1),
    ms_per_event: +(mean / BATCH).toFixed(3),
    events_per_s_one_partition: Math.round((BATCH * 1000) / mean),
  }),
);
await db.end();
