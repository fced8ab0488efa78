import { PassThrough } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { InFlight, readChunked, receive } from "./http.ts";

describe("InFlight (load shedding's count)", () => {
  it("admits requests up to its bound and counts every request it is told of, refused ones too", () => {
    const inFlight = new InFlight(2);
    expect(inFlight.enter()).toBe(true);
    expect(inFlight.enter()).toBe(true);
    expect(inFlight.enter()).toBe(false);
    inFlight.leave(); // the refused one
    inFlight.leave();
    expect(inFlight.enter()).toBe(true);
    expect(inFlight.enter()).toBe(false);
  });

  it("says when the last request in flight has left (what a shutdown waits for)", async () => {
    const inFlight = new InFlight(4);
    await inFlight.idle(); // none in flight: at once
    inFlight.enter();
    inFlight.enter();
    let idle = false;
    const waiting = inFlight.idle().then(() => {
      idle = true;
    });
    inFlight.leave();
    await Promise.resolve();
    expect(idle).toBe(false);
    inFlight.leave();
    await waiting;
    expect(idle).toBe(true);
  });

  it("is not idle while a request's body is still arriving, though that request holds no slot", async () => {
    const inFlight = new InFlight(1);
    inFlight.enter();
    let deliver: (text: string) => void = () => {};
    const body = receive({ received: false }, inFlight, () => new Promise<string>((resolve) => (deliver = resolve)));
    let idle = false;
    const waiting = inFlight.idle().then(() => {
      idle = true;
    });
    await Promise.resolve();
    expect(idle).toBe(false);
    deliver("{}");
    await body;
    inFlight.leave();
    await waiting;
    expect(idle).toBe(true);
  });

  it("does not count a request while the rest of its body is on its way", async () => {
    const inFlight = new InFlight(1);
    expect(inFlight.enter()).toBe(true);
    let deliver: (text: string) => void = () => {};
    const arriving = new Promise<string>((resolve) => {
      deliver = resolve;
    });
    const body = receive({ received: false }, inFlight, () => arriving);
    expect(inFlight.enter()).toBe(true); // the slow sender holds no slot: another request gets in
    inFlight.leave();
    deliver("{}");
    expect(await body).toBe("{}");
    expect(inFlight.enter()).toBe(false); // counted again once its body is in
  });

  it("keeps counting a request whose body has arrived", async () => {
    const inFlight = new InFlight(1);
    expect(inFlight.enter()).toBe(true);
    expect(await receive({ received: true }, inFlight, async () => "{}")).toBe("{}");
    expect(inFlight.enter()).toBe(false);
  });

  it("gives up on a body that does not arrive in time (408), and counts the request again", async () => {
    vi.useFakeTimers();
    try {
      const inFlight = new InFlight(1);
      expect(inFlight.enter()).toBe(true);
      const body = receive({ received: false }, inFlight, () => new Promise<string>(() => {}), 30_000);
      const outcome = body.catch((err: { status: number }) => err.status);
      await vi.advanceTimersByTimeAsync(30_000);
      expect(await outcome).toBe(408);
      expect(inFlight.enter()).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** A chunked request body as hyper-express exposes it: a stream, and `received` once its last chunk came. */
function chunkedRequest(chunks: string[], complete: boolean) {
  const stream = new PassThrough();
  const req = { received: false, pipe: (sink: NodeJS.WritableStream) => stream.pipe(sink) };
  for (const c of chunks) stream.write(c);
  req.received = complete;
  stream.end();
  return req as unknown as Parameters<typeof readChunked>[0];
}

describe("readChunked", () => {
  it("reads a chunked body whole", async () => {
    expect(await readChunked(chunkedRequest(['{"title":', '"é"}'], true), 100)).toBe('{"title":"é"}');
  });

  it("refuses one past the limit (413) and one cut off before its last chunk", async () => {
    await expect(readChunked(chunkedRequest(["x".repeat(60), "x".repeat(60)], true), 100)).rejects.toMatchObject({ status: 413 });
    await expect(readChunked(chunkedRequest(['{"title":"cut off"}'], false), 100)).rejects.toMatchObject({ status: 400 });
  });
});
