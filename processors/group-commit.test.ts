import { describe, expect, it } from "vitest";
import { groupCommit } from "./group-commit.ts";

/** An apply whose groups finish only when the test says so. */
function controlledApply() {
  const groups: number[][] = [];
  const finish: ((err?: Error) => void)[] = [];
  const apply = (group: number[]) =>
    new Promise<void>((resolve, reject) => {
      groups.push(group);
      finish.push((err) => (err ? reject(err) : resolve()));
    });
  return { groups, finish, apply };
}

describe("groupCommit", () => {
  it("applies a lone item at once, and what arrives meanwhile as the next group", async () => {
    const c = controlledApply();
    const submit = groupCommit(c.apply);
    const first = submit(1);
    expect(c.groups).toEqual([[1]]);
    const later = [submit(2), submit(3), submit(4)];
    expect(c.groups).toEqual([[1]]); // one group in flight at a time
    c.finish[0]?.();
    await first;
    await expect.poll(() => c.groups.length).toBe(2);
    expect(c.groups[1]).toEqual([2, 3, 4]);
    c.finish[1]?.();
    await Promise.all(later);
  });

  it("fails every caller of a failed group, and only them", async () => {
    const c = controlledApply();
    const submit = groupCommit(c.apply);
    const first = submit(1);
    const second = [submit(2), submit(3)];
    c.finish[0]?.();
    await first;
    await expect.poll(() => c.groups.length).toBe(2);
    c.finish[1]?.(new Error("PostgreSQL went away"));
    for (const s of second) await expect(s).rejects.toThrow("PostgreSQL went away");
    const third = submit(4);
    await expect.poll(() => c.groups.length).toBe(3);
    expect(c.groups[2]).toEqual([4]);
    c.finish[2]?.();
    await third;
  });

  it("caps a group at maxGroupItems and applies the rest next", async () => {
    const c = controlledApply();
    const submit = groupCommit(c.apply, 2);
    const all = [submit(1), submit(2), submit(3), submit(4), submit(5)];
    c.finish[0]?.();
    await expect.poll(() => c.groups.length).toBe(2);
    c.finish[1]?.();
    await expect.poll(() => c.groups.length).toBe(3);
    c.finish[2]?.();
    await Promise.all(all);
    expect(c.groups).toEqual([[1], [2, 3], [4, 5]]);
  });
});
