import { describe, expect, it } from "vitest";
import { PREPARED_MARK } from "../../common/postgres.ts";
import { prepared } from "./rows.ts";

describe("prepared", () => {
  it("is the mark pg's client runs as a named prepared statement", () => {
    expect(prepared.sql).toBe(PREPARED_MARK);
  });
});
