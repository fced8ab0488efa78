import { describe, expect, it } from "vitest";
import { inTimeOrder } from "./time-order.ts";

const e = (id: string, second: number) => ({ id, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString() });
const ids = (events: { id: string }[]) => events.map((x) => x.id);

describe("inTimeOrder (a group's batches)", () => {
  it("interleaves batches by event time", () => {
    const writes = [e("created", 1), e("completed", 5)];
    const triggers = [e("reminder", 8)];
    expect(ids(inTimeOrder([triggers, writes]))).toEqual(["created", "completed", "reminder"]);
  });

  it("keeps each batch's own order, even where its times go back (another ingest's clock)", () => {
    const partition = [e("a", 5), e("b", 3), e("c", 9)];
    const other = [e("x", 4), e("y", 6)];
    const merged = ids(inTimeOrder([partition, other]));
    expect(merged.filter((id) => "abc".includes(id))).toEqual(["a", "b", "c"]);
    expect(merged.filter((id) => "xy".includes(id))).toEqual(["x", "y"]);
    expect(merged).toEqual(["x", "a", "b", "y", "c"]);
  });

  it("takes the earlier batch first on a tie, and copes with empty ones", () => {
    expect(ids(inTimeOrder([[e("first", 1)], [], [e("second", 1)]]))).toEqual(["first", "second"]);
    expect(inTimeOrder([])).toEqual([]);
  });
});
