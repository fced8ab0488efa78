import { describe, expect, it } from "vitest";
import { createdTaskView } from "../../common/contracts/task-view.ts";
import { taskFields } from "../../test/harness.ts";
import { listOrder, type TaskFilter, type TaskView, webSearchText, wouldList } from "./tasks.ts";

const task = (over: Partial<TaskView>): TaskView => ({
  ...createdTaskView("u", "00000000-0000-4000-8000-000000000001", taskFields({ title: "t" }), "2026-01-01T00:00:00.000Z"),
  ...over,
});
const f = (over: Partial<TaskFilter>): TaskFilter => ({ sortBy: "created_at", sortOrder: "desc", limit: 50, ...over });

describe("wouldList (the list's filter, for tasks not stored yet)", () => {
  it.each<[string, Partial<TaskFilter>, Partial<TaskView>, boolean | undefined]>([
    ["everything", {}, {}, true],
    ["status", { status: "completed" }, {}, false],
    ["status all", { status: "all" }, { status: "completed" }, true],
    ["priority", { priority: ["high", "urgent"] }, { priority: "high" }, true],
    ["priority out", { priority: ["high"] }, {}, false],
    ["due range needs a due date", { dueDateStart: "2026-01-01T00:00:00Z" }, {}, false],
    ["due range inclusive", { dueDateEnd: "2026-02-01T00:00:00Z" }, { due_date: "2026-02-01T00:00:00.000Z" }, true],
    ["due after the range", { dueDateEnd: "2026-02-01T00:00:00Z" }, { due_date: "2026-02-01T00:00:00.001Z" }, false],
    ["tags, any, case-insensitive", { tags: ["Work", "home"] }, { tags: ["HOME"] }, true],
    ["tags missing", { tags: ["work"] }, { tags: ["home"] }, false],
    ["a search only PostgreSQL answers", { search: "t" }, {}, undefined],
  ])("%s", (_, filter, t, expected) => {
    expect(wouldList(f(filter), task(t))).toBe(expected);
  });
});

describe("listOrder", () => {
  const a = task({ id: "00000000-0000-4000-8000-00000000000a", created_at: "2026-01-01T00:00:00.000Z", due_date: null, priority: "low" });
  const b = task({
    id: "00000000-0000-4000-8000-00000000000b",
    created_at: "2026-01-02T00:00:00.000Z",
    due_date: "2026-03-01T00:00:00.000Z",
  });
  it("follows the sort and its direction, tasks without a due date last, id breaking ties", () => {
    expect(listOrder(f({}), a, b)).toBeGreaterThan(0); // newest first
    expect(listOrder(f({ sortOrder: "asc" }), a, b)).toBeLessThan(0);
    expect(listOrder(f({ sortBy: "due_date", sortOrder: "asc" }), a, b)).toBeGreaterThan(0);
    expect(listOrder(f({ sortBy: "priority", sortOrder: "asc" }), a, b)).toBeLessThan(0);
    expect(listOrder(f({ sortBy: "title", sortOrder: "asc" }), a, { ...a, id: "00000000-0000-4000-8000-00000000000c" })).toBeLessThan(0);
    // Case-insensitive: "alpha" before "Bravo" (by code point "B" would come first).
    const title = f({ sortBy: "title", sortOrder: "asc" });
    expect(listOrder(title, { ...a, title: "alpha" }, { ...b, title: "Bravo" })).toBeLessThan(0);
    expect(listOrder(title, { ...a, title: "Bravo" }, { ...b, title: "alpha" })).toBeGreaterThan(0);
  });
});

describe("webSearchText", () => {
  it.each([
    ["-a", "-a"],
    ["--a", "-a"],
    ['-"a phrase"', '-"a phrase"'],
    ["e-mail", "e-mail"],
    ["a - b", "a   b"],
    ["----", "    "],
    ["-!-&", " ! &"],
    ["-été", "-été"],
  ])("%j reads as %j", (search, expected) => {
    expect(webSearchText(search)).toBe(expected);
  });
});
