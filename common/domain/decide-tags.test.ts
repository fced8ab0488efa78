import { describe, expect, it } from "vitest";
import type { Command } from "./decide.ts";
import { createTag, deleteTag, type Tag, updateTag } from "./decide-tags.ts";

let n = 0;
const cmd: Command = { user_id: "alice", correlation_id: "c", now: "2026-12-07T10:00:00.000Z", newId: () => `id-${++n}` };
const work: Tag = { id: "t1", name: "Work", color: "#ff0000", created_at: "2026-12-01T00:00:00.000Z" };
const home: Tag = { id: "t2", name: "home", color: null, created_at: "2026-12-01T00:00:00.000Z" };

describe("tag decisions", () => {
  it("creates a tag under its trimmed name, refusing a blank one and a name another tag has", () => {
    const made = createTag(cmd, { name: "  Errands " }, null);
    expect(made.ok && made.event?.event_type).toBe("tag.created");
    expect(made.ok && made.tag).toMatchObject({ name: "Errands", color: null, created_at: cmd.now });
    expect(made.ok && made.event?.aggregate_id).toBe(made.ok ? made.tag.id : null);
    expect(createTag(cmd, { name: "   " }, null)).toEqual({
      ok: false,
      refusal: { kind: "validation", details: [{ path: "name", message: "must not be blank" }] },
    });
    expect(createTag(cmd, { name: "work" }, work)).toEqual({
      ok: false,
      refusal: { kind: "conflict", message: 'a tag named "work" already exists' },
    });
  });

  it("renames and recolours with the changes only, and a rename of its own case is no conflict", () => {
    const renamed = updateTag(cmd, work, { name: "work", color: "#ff0000" }, work);
    expect(renamed.ok && renamed.event?.data).toEqual({ changes: { name: { old: "Work", new: "work" } } });
    expect(renamed.ok && renamed.tag).toEqual({ ...work, name: "work" });
    const recoloured = updateTag(cmd, work, { color: null }, null);
    expect(recoloured.ok && recoloured.event?.data).toEqual({ changes: { color: { old: "#ff0000", new: null } } });
    expect(updateTag(cmd, work, { name: "HOME" }, home)).toMatchObject({ ok: false, refusal: { kind: "conflict" } });
    expect(updateTag(cmd, work, { name: " " }, null)).toMatchObject({ ok: false, refusal: { kind: "validation" } });
  });

  it("makes no event for a write that changes nothing", () => {
    expect(updateTag(cmd, work, { name: " Work ", color: "#ff0000" }, work)).toEqual({ ok: true, event: null, tag: work });
    expect(updateTag(cmd, work, {}, null)).toEqual({ ok: true, event: null, tag: work });
  });

  it("deletes a tag by its id", () => {
    const deleted = deleteTag(cmd, home);
    expect(deleted.ok && deleted.event).toMatchObject({ event_type: "tag.deleted", aggregate_id: "t2", data: {} });
  });
});
