import { describe, expect, it, vi } from "vitest";
import { type Subscriber, Subscriptions } from "./subscriptions.ts";

/** Records the commands as Redis would receive them on one connection; replies when told to. */
function fakeSubscriber() {
  const sent: { command: string; channels: string[]; reply: () => void; fail: (err: Error) => void }[] = [];
  const record =
    (command: string) =>
    (...channels: string[]) =>
      new Promise<unknown>((resolve, reject) => {
        sent.push({ command, channels, reply: () => resolve(channels.length), fail: reject });
      });
  // The PING that follows each SUBSCRIBE (to confirm it) is answered with it, as Redis answers in order; it is not logged.
  const subscriber: Subscriber = {
    subscribe: record("subscribe"),
    unsubscribe: record("unsubscribe"),
    ping: (message?: string) => {
      const last = sent[sent.length - 1];
      if (message === "subscribed" && last)
        return new Promise<unknown>((resolve, _reject) => {
          const { reply, fail } = last;
          last.reply = () => {
            reply();
            resolve("pong");
          };
          last.fail = (err) => {
            fail(err);
            queueMicrotask(() => resolve("pong"));
          };
        });
      return record("ping")();
    },
  };
  return { subscriber, sent, log: () => sent.map((c) => `${c.command} ${c.channels.join(",")}`.trim()) };
}

const tick = () => new Promise((r) => setImmediate(r));
const settled = async (p: Promise<unknown>) => {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await tick();
  return done;
};

describe("Subscriptions", () => {
  it("batches the subscribes of one turn and resolves only on Redis' reply", async () => {
    const { subscriber, sent, log } = fakeSubscriber();
    const subs = new Subscriptions(subscriber, (u) => `ch:${u}`, 1000);
    const a = subs.acquire("a");
    const b = subs.acquire("b");
    const a2 = subs.acquire("a");
    await tick();
    expect(log()).toEqual(["subscribe ch:a,ch:b"]);
    expect(await settled(a)).toBe(false);
    sent[0]?.reply();
    await Promise.all([a, b, a2]);
    expect(subs.userOf("ch:a")).toBe("a");
    // Already subscribed: no command, resolves at once.
    await subs.acquire("b");
    expect(log()).toEqual(["subscribe ch:a,ch:b"]);
  });

  it("unsubscribes only after the idle delay, in one command, and not when a socket came back", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const { subscriber, sent, log } = fakeSubscriber();
      const subs = new Subscriptions(subscriber, (u) => `ch:${u}`, 1000);
      const ready = [subs.acquire("a"), subs.acquire("b"), subs.acquire("c")];
      await tick();
      sent[0]?.reply();
      await Promise.all(ready);
      subs.release("a");
      subs.release("b");
      subs.release("c");
      await vi.advanceTimersByTimeAsync(500);
      await subs.acquire("c"); // came back within the delay: still subscribed
      await vi.advanceTimersByTimeAsync(600);
      expect(log()).toEqual(["subscribe ch:a,ch:b,ch:c", "unsubscribe ch:a,ch:b"]);
      sent[1]?.reply();
      await vi.advanceTimersByTimeAsync(0);
      expect(subs.userOf("ch:a")).toBeUndefined();
      expect(subs.userOf("ch:c")).toBe("c");
      expect(subs.size).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a socket arriving while its channel's UNSUBSCRIBE is on the wire subscribes again after it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const { subscriber, sent, log } = fakeSubscriber();
      const subs = new Subscriptions(subscriber, (u) => `ch:${u}`, 1000);
      const first = subs.acquire("a");
      await tick();
      sent[0]?.reply();
      await first;
      subs.release("a");
      await vi.advanceTimersByTimeAsync(1000);
      expect(log()).toEqual(["subscribe ch:a", "unsubscribe ch:a"]);
      const again = subs.acquire("a");
      await tick();
      expect(log()).toEqual(["subscribe ch:a", "unsubscribe ch:a", "subscribe ch:a"]);
      sent[1]?.reply(); // the unsubscribe's reply must not drop the new entry
      expect(await settled(again)).toBe(false);
      sent[2]?.reply();
      await again;
      expect(subs.userOf("ch:a")).toBe("a");
    } finally {
      vi.useRealTimers();
    }
  });

  it("after a reconnect, an already subscribed channel waits for a PING sent after ioredis' resubscribe", async () => {
    const { subscriber, sent, log } = fakeSubscriber();
    const subs = new Subscriptions(subscriber, (u) => `ch:${u}`, 1000);
    const first = subs.acquire("a");
    await tick();
    sent[0]?.reply();
    await first;
    subs.reconnected();
    const again = subs.acquire("a");
    await tick();
    expect(log()).toEqual(["subscribe ch:a", "ping"]);
    expect(await settled(again)).toBe(false);
    sent[1]?.reply();
    await again;
  });

  it("a failed SUBSCRIBE rejects its waiters and the next socket tries again", async () => {
    const { subscriber, sent, log } = fakeSubscriber();
    const subs = new Subscriptions(subscriber, (u) => `ch:${u}`, 1000);
    const first = subs.acquire("a");
    await tick();
    sent[0]?.fail(new Error("connection closed"));
    await expect(first).rejects.toThrow("connection closed");
    subs.release("a");
    const second = subs.acquire("a");
    await tick();
    expect(log()).toEqual(["subscribe ch:a", "subscribe ch:a"]);
    sent[1]?.reply();
    await second;
  });
  it("fails a SUBSCRIBE never confirmed in time, so its sockets reconnect and the next one subscribes afresh", async () => {
    vi.useFakeTimers();
    try {
      const { subscriber, log } = fakeSubscriber();
      const subs = new Subscriptions(subscriber, (u) => `ch:${u}`, 1000, Date.now, 5000);
      const a = subs.acquire("a");
      await vi.advanceTimersByTimeAsync(0);
      expect(log()).toEqual(["subscribe ch:a"]);
      const failed = a.then(
        () => "resolved",
        (err: Error) => err.message,
      );
      await vi.advanceTimersByTimeAsync(5000);
      expect(await failed).toMatch(/not confirmed within 5000 ms/);
      void subs.acquire("a").catch(() => {});
      await vi.advanceTimersByTimeAsync(0);
      expect(log()).toEqual(["subscribe ch:a", "subscribe ch:a"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
