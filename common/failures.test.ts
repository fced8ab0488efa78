import { ConnectionError, InvalidInputError, StatementTimeoutError } from "slonik";
import { describe, expect, it } from "vitest";
import { isDataError, isInfrastructureError, pgErrorCode } from "./failures.ts";

/** An error as pg's driver throws it for a server's answer, optionally wrapped the way slonik wraps it. */
const pgError = (code: string, message = `failed with ${code}`) => Object.assign(new Error(message), { code, severity: "ERROR" });
const wrapped = (cause: unknown) => new Error("query failed", { cause });
const systemError = (code: string) => Object.assign(new Error(`write ${code}`), { code, errno: -32, syscall: "write" });

describe("isInfrastructureError", () => {
  it.each([
    ["40001", "a serialization failure"],
    ["40P01", "a deadlock"],
    ["57P01", "an administrator's shutdown"],
    ["53300", "too many connections"],
    ["42883", "a function a running migration has not created yet"],
    ["42P01", "a table a running migration has not created yet"],
    ["42703", "a column a running migration has not added yet"],
    ["26000", "a prepared statement a pooler dropped"],
    ["0A000", "a cached plan whose table a migration changed"],
    ["25P02", "a transaction already failed"],
    ["42501", "a privilege revoked"],
    ["28P01", "a password rotated"],
  ])("retries %s (%s), never blames the record", (code) => {
    expect(isInfrastructureError(pgError(code))).toBe(true);
    expect(isInfrastructureError(wrapped(pgError(code)))).toBe(true);
  });

  it.each([
    ["22007", "an invalid timestamp"],
    ["22021", "an invalid byte sequence"],
    ["23505", "a unique violation"],
    ["23514", "a check constraint"],
    ["21000", "an upsert that met one key twice"],
    ["54000", "a value over a limit (an index row too large)"],
  ])("blames the record for %s (%s)", (code) => {
    expect(isInfrastructureError(pgError(code))).toBe(false);
    expect(isInfrastructureError(wrapped(pgError(code)))).toBe(false);
  });

  it("reads Node's socket errors as infrastructure, not as SQLSTATEs", () => {
    for (const code of ["EPIPE", "EBUSY", "ECONNRESET"]) {
      expect(pgErrorCode(systemError(code))).toBeUndefined();
      expect(isInfrastructureError(systemError(code))).toBe(true);
      expect(isInfrastructureError(wrapped(systemError(code)))).toBe(true);
    }
  });

  it("knows slonik's connection-level errors", () => {
    expect(isInfrastructureError(new ConnectionError("pool timeout"))).toBe(true);
    expect(isInfrastructureError(new StatementTimeoutError(pgError("57014")))).toBe(true);
  });

  it("does not read a value quoted in a domain error's message as an outage", () => {
    expect(isInfrastructureError(new RangeError('unsupported rule part "broker timeout"'))).toBe(false);
    expect(isInfrastructureError(new TypeError("Cannot convert timed out to a BigInt"))).toBe(false);
    expect(isInfrastructureError(new Error("Connection is closed."))).toBe(true);
    expect(isInfrastructureError(new Error('tag "broker timeout" is not among the user\'s loaded tags'))).toBe(false);
    expect(isInfrastructureError(new Error("Local: Timed out"))).toBe(true);
    expect(isInfrastructureError(new Error("Broker: Not enough in-sync replicas"))).toBe(true);
    expect(isInfrastructureError(new Error("timeout exceeded when trying to connect"))).toBe(true);
    expect(isInfrastructureError(new Error("Command timed out"))).toBe(true);
  });
});

describe("isDataError", () => {
  it("recognises 22P02, which slonik rethrows without its code", () => {
    expect(isDataError(new InvalidInputError('invalid input syntax for type uuid: "timeout"'))).toBe(true);
    expect(isInfrastructureError(new InvalidInputError('invalid input syntax for type uuid: "timeout"'))).toBe(false);
  });

  it("is class 22 only", () => {
    expect(isDataError(pgError("22008"))).toBe(true);
    expect(isDataError(pgError("23505"))).toBe(false);
    expect(isDataError(pgError("40001"))).toBe(false);
  });
});
