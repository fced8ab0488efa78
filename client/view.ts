/**
 * The local view of one user's tasks and tags: the server's state as the events describe it
 * (`confirmed`), with this client's accepted-but-not-yet-applied writes laid over it (`pending`,
 * keyed by the 202's event_id). A pending write shows at once (optimistic); its event confirms it;
 * a `write.rejected` naming its event_id removes it, and the task shows the server's state again.
 *
 * Applying is idempotent and order-safe: an event whose `version` is not newer than the task's is
 * ignored, a deleted task stays deleted (a later snapshot cannot bring it back), and a snapshot
 * (`reload`) never replaces newer state the events already brought.
 */
import { createdTaskView } from "../common/contracts/task-view.ts";
import { retagged } from "../common/domain/tags.ts";
import { Emitter } from "./emitter.ts";
import type { AppliedEvent, RejectReason, ServerEvent, Tag, Task, WriteRejected } from "./types.ts";

export interface PendingWrite {
  eventId: string;
  correlationId: string;
  kind: string;
  taskId: string;
  /** The task as the 202 said it will be; null for a delete. */
  task: Task | null;
  at: number;
}

export interface ViewEvents extends Record<string, unknown> {
  /** Something visible changed. */
  change: { taskIds: string[] };
  /**
   * The server refused a write accepted with 202: this client's (then `pending` says which) or
   * another device's of the same user, or this client's when the rejection beat its 202.
   */
  rejected: {
    reason: RejectReason;
    message: string;
    taskId: string;
    eventType: string;
    pending: PendingWrite | undefined;
    event: WriteRejected;
  };
  /** A reminder fired (live, replayed or polled). */
  reminder: { task: Task | undefined; event: Extract<AppliedEvent, { event_type: "reminder.triggered" }> };
  /** Every applied event, for an activity feed. */
  activity: ServerEvent;
}

type Fields = Extract<AppliedEvent, { event_type: "task.created" }>["data"]["task"];

const fromFields = (e: Pick<ServerEvent, "aggregate_id" | "user_id" | "version" | "timestamp">, f: Fields): Task =>
  createdTaskView(e.user_id, e.aggregate_id, f, e.timestamp, e.version ?? 1);

export class TaskView extends Emitter<ViewEvents> {
  readonly confirmed = new Map<string, Task>();
  readonly pending = new Map<string, PendingWrite>();
  readonly tags = new Map<string, Tag>();
  private readonly deleted = new Set<string>();
  /** Ids touched by events while a reload runs (generation → ids). */
  private touched: Set<string> | null = null;

  /** Every visible task (confirmed with pending writes laid over), in no particular order. */
  get tasks(): Task[] {
    const ids = new Set([...this.confirmed.keys(), ...[...this.pending.values()].map((p) => p.taskId)]);
    const out: Task[] = [];
    for (const id of ids) {
      const t = this.get(id);
      if (t) out.push(t);
    }
    return out;
  }

  get(id: string): Task | undefined {
    // A deletion, confirmed or pending, wins over any write after it (the server rejects those).
    if (this.deleted.has(id)) return undefined;
    let t: Task | undefined = this.confirmed.get(id);
    for (const p of this.pending.values()) {
      if (p.taskId !== id) continue;
      if (p.task === null) return undefined;
      t = p.task;
    }
    return t;
  }

  isPending(id: string): boolean {
    for (const p of this.pending.values()) if (p.taskId === id) return true;
    return false;
  }

  /**
   * Event ids already applied or rejected (bounded): an event can beat its own 202 to the client,
   * and its write must then not be laid over the state it already brought.
   */
  private readonly settled = new Map<string, "applied" | "rejected">();
  private settle(eventId: string, how: "applied" | "rejected") {
    this.settled.set(eventId, how);
    if (this.settled.size > 5000) this.settled.delete(this.settled.keys().next().value!);
  }

  /** Lays an accepted write over the confirmed state until its event (or its rejection) arrives. */
  optimistic(write: Omit<PendingWrite, "at">): void {
    if (this.settled.has(write.eventId)) return;
    if (this.deleted.has(write.taskId) && write.task !== null) return;
    this.pending.set(write.eventId, { ...write, at: Date.now() });
    this.emit("change", { taskIds: [write.taskId] });
  }

  /** Applies one event of the feed. */
  apply(e: ServerEvent): void {
    this.emit("activity", e);
    if (e.event_type === "write.rejected") {
      const r = e as WriteRejected;
      const pending = this.pending.get(r.data.event_id);
      this.pending.delete(r.data.event_id);
      this.settle(r.data.event_id, "rejected");
      this.emit("rejected", {
        reason: r.data.reason,
        message: r.data.message,
        taskId: r.aggregate_id,
        eventType: r.data.event_type,
        pending,
        event: r,
      });
      this.emit("change", { taskIds: [r.aggregate_id] });
      return;
    }
    const ev = e as AppliedEvent & { type: string };
    const hadPending = this.pending.delete(ev.event_id);
    this.settle(ev.event_id, "applied");
    const changed = this.applyConfirmed(ev);
    this.touched?.add(ev.aggregate_id);
    if (changed || hadPending) this.emit("change", { taskIds: changed && changed !== true ? changed : [ev.aggregate_id] });
  }

  /** Renames the tag `from` to `to` (null: removes it) on the tasks that carry it; their ids. */
  private retag(from: string, to: string | null): string[] {
    const ids: string[] = [];
    for (const [taskId, task] of this.confirmed) {
      const tags = retagged(task.tags, from, to);
      if (!tags) continue;
      this.confirmed.set(taskId, { ...task, tags });
      this.touched?.add(taskId);
      ids.push(taskId);
    }
    return ids;
  }

  /** Clears the reminders of the series' pending instances; their ids. */
  private withoutReminders(seriesId: string): string[] {
    const ids: string[] = [];
    for (const [taskId, task] of this.confirmed) {
      if (task.parent_task_id !== seriesId || task.status !== "pending" || task.reminders.length === 0) continue;
      this.confirmed.set(taskId, { ...task, reminders: [] });
      this.touched?.add(taskId);
      ids.push(taskId);
    }
    return ids;
  }

  /** Returns true or the ids changed when the confirmed state changed. */
  private applyConfirmed(ev: AppliedEvent): boolean | string[] {
    const id = ev.aggregate_id;
    const current = this.confirmed.get(id);
    const newer = (t: Task | undefined) => t !== undefined && (ev.version === undefined || ev.version > t.version);
    const bump = (t: Task, patch: Partial<Task>) => {
      this.confirmed.set(id, { ...t, ...patch, version: ev.version ?? t.version + 1, updated_at: ev.timestamp });
      return true;
    };
    switch (ev.event_type) {
      case "task.created": {
        if (this.deleted.has(id) || (current && !newer(current))) return false;
        this.confirmed.set(id, fromFields(ev, ev.data.task));
        return true;
      }
      case "recurring.spawned": {
        const ids = [id];
        const parentId = ev.data.task.parent_task_id;
        const parent = parentId ? this.confirmed.get(parentId) : undefined;
        if (parent && parentId) {
          this.confirmed.set(parentId, { ...parent, next_occurrence: ev.data.parent_next_occurrence });
          ids.push(parentId);
        }
        if (!this.deleted.has(id) && !(current && !newer(current))) this.confirmed.set(id, fromFields(ev, ev.data.task));
        return ids;
      }
      case "task.updated": {
        if (!newer(current)) return false;
        if (ev.data.superseded) return bump(current!, {});
        const patch: Record<string, unknown> = {};
        for (const [field, change] of Object.entries(ev.data.changes)) patch[field] = change?.new;
        if (Array.isArray(patch.tags)) patch.tags = [...(patch.tags as string[])].sort();
        // A due date or timezone change that moved `before` reminders says where they are now.
        const reminders = ev.data.changes.reminders ?? ev.data.moved_reminders;
        if (reminders)
          patch.reminders = reminders.new.map((r) => ({ ...r, notified: false })).sort((a, b) => a.remind_at.localeCompare(b.remind_at));
        return bump(current!, patch as Partial<Task>);
      }
      case "task.completed":
        return newer(current) && bump(current!, { status: "completed", completed_at: ev.data.completed_at });
      case "task.uncompleted":
        return newer(current) && bump(current!, { status: "pending", completed_at: null });
      case "task.deleted": {
        this.deleted.add(id);
        // A deleted series' pending instances lose their reminders that have not fired (no event on
        // them); its instances still to come are then deleted by task.deleted events of their own.
        const instances = this.withoutReminders(id);
        return this.confirmed.delete(id) ? [id, ...instances] : instances.length > 0 && instances;
      }
      case "recurring.skipped":
        return newer(current) && bump(current!, { next_occurrence: ev.data.next_occurrence });
      case "reminder.created":
        return (
          newer(current) &&
          bump(current!, {
            reminders: [...current!.reminders.filter((r) => r.id !== ev.data.reminder.id), { ...ev.data.reminder, notified: false }].sort(
              (a, b) => a.remind_at.localeCompare(b.remind_at),
            ),
          })
        );
      case "reminder.deleted":
        return newer(current) && bump(current!, { reminders: current!.reminders.filter((r) => r.id !== ev.data.reminder_id) });
      case "reminder.triggered": {
        this.emit("reminder", { task: this.get(id), event: ev });
        if (!current) return false;
        // The API lists pending reminders only: a fired one leaves the task.
        this.confirmed.set(id, { ...current, reminders: current.reminders.filter((r) => r.id !== ev.data.reminder_id) });
        return true;
      }
      case "tag.created":
        this.tags.set(id, { id, name: ev.data.name, color: ev.data.color, created_at: ev.timestamp });
        return true;
      case "tag.updated": {
        // A rename renames the tag on the tasks that carry it (the server makes no event on them).
        const renamed = ev.data.changes.name ? this.retag(ev.data.changes.name.old, ev.data.changes.name.new) : [];
        const tag = this.tags.get(id);
        if (tag) {
          const patch: Record<string, unknown> = {};
          for (const [field, change] of Object.entries(ev.data.changes)) patch[field] = change?.new;
          this.tags.set(id, { ...tag, ...patch });
        }
        return renamed.length > 0 ? renamed : tag !== undefined;
      }
      case "tag.deleted": {
        const tag = this.tags.get(id);
        const name = ev.data.name ?? tag?.name;
        const untagged = name !== undefined ? this.retag(name, null) : [];
        this.tags.delete(id);
        return untagged.length > 0 ? untagged : tag !== undefined;
      }
      default:
        return false;
    }
  }

  /**
   * Replaces the state with a snapshot fetched over HTTP, keeping what events brought meanwhile:
   * a task in the view but not in the snapshot is dropped unless an event touched it while the
   * snapshot was being fetched.
   */
  async reload(fetchSnapshot: () => Promise<{ tasks: Task[]; tags?: Tag[] }>): Promise<void> {
    const touched = new Set<string>();
    this.touched = touched;
    try {
      const { tasks, tags } = await fetchSnapshot();
      const inSnapshot = new Set<string>();
      for (const t of tasks) {
        inSnapshot.add(t.id);
        if (this.deleted.has(t.id)) continue;
        const current = this.confirmed.get(t.id);
        // A task an event changed during the fetch without a new version (a tag renamed or deleted,
        // its series deleted) keeps that change over a snapshot of the same version.
        const changedMeanwhile = current !== undefined && touched.has(t.id) && current.version === t.version;
        if (!changedMeanwhile && (!current || current.version <= t.version)) this.confirmed.set(t.id, t);
      }
      for (const id of [...this.confirmed.keys()]) if (!inSnapshot.has(id) && !touched.has(id)) this.confirmed.delete(id);
      if (tags) {
        const known = new Map(this.tags);
        this.tags.clear();
        for (const tag of tags) this.tags.set(tag.id, tag);
        for (const id of touched) {
          const t = known.get(id);
          if (t && !this.tags.has(id)) this.tags.set(id, t);
        }
      }
      this.emit("change", { taskIds: [...inSnapshot] });
    } finally {
      if (this.touched === touched) this.touched = null;
    }
  }
}
