/**
 * The switch from replay to live, on stand-ins for uWS's app and sockets (topics as sets): a
 * socket whose replay read Redis's stream further than pub/sub has carried the user's other
 * sockets must not get the frames in between a second time, nor miss any after.
 */
import type { TemplatedApp } from "uWebSockets.js";
import { describe, expect, it } from "vitest";
import type { PubsubFrame } from "../common/contracts/index.ts";
import { newSocketData, Sessions, type Socket, type SocketData } from "./sessions.ts";

function fakeUws() {
  const topics = new Map<string, Set<FakeSocket>>();
  class FakeSocket {
    readonly sent: string[] = [];
    constructor(readonly data: SocketData) {}
    getUserData = () => this.data;
    send = (message: string) => this.sent.push(message) > 0;
    subscribe = (topic: string) => topics.set(topic, (topics.get(topic) ?? new Set()).add(this)).size > 0;
    cork = (fn: () => void) => fn();
    getBufferedAmount = () => 0;
    end = () => {};
  }
  const app = {
    publish: (topic: string, message: string) => {
      for (const ws of topics.get(topic) ?? []) ws.sent.push(message);
      return true;
    },
  } as unknown as TemplatedApp;
  const socket = (userId: string) => new FakeSocket(newSocketData(userId, null, Number.POSITIVE_INFINITY));
  return { app, socket };
}

/** Adds a socket of `userId` and sends it its replay (`replay` up to seq `upTo`, the stream's top). */
function connect(sessions: Sessions, socket: (userId: string) => { sent: string[] }, userId: string, replay: string[], upTo: number) {
  const ws = socket(userId);
  sessions.add(ws as unknown as Socket);
  sessions.goLive(ws as unknown as Socket, replay, upTo, upTo, false);
  return ws;
}

const frame = (userId: string, seq: number): PubsubFrame => ({ userId, seq, timestampMs: Date.now(), wire: `e${seq}` });
const ready = (seq: number) => JSON.stringify({ type: "ready", seq });

describe("Sessions: replay to live", () => {
  it("a second socket whose replay ran ahead of pub/sub gets each frame once, then every later one", () => {
    const { app, socket } = fakeUws();
    const sessions = new Sessions(app, async () => [], 5, 1 << 20);
    const first = connect(sessions, socket, "u", [], 0);
    sessions.deliver(frame("u", 1));
    // The second socket's replay read the stream up to seq 2; pub/sub has carried only 1 so far.
    const second = connect(sessions, socket, "u", ["e2"], 2);
    sessions.deliver(frame("u", 2));
    sessions.deliver(frame("u", 3));
    expect(second.sent).toEqual(["e2", ready(2), "e3"]);
    expect(first.sent).toEqual([ready(0), "e1", "e2", "e3"]);
  });

  it("joins at once when pub/sub skipped past its replay", () => {
    const { app, socket } = fakeUws();
    const sessions = new Sessions(app, async () => [], 5, 1 << 20);
    connect(sessions, socket, "u", [], 0);
    const second = connect(sessions, socket, "u", ["e1", "e2"], 2);
    sessions.deliver(frame("u", 4)); // 1 to 3 never came through pub/sub here
    expect(second.sent).toEqual(["e1", "e2", ready(2), "e4"]);
  });
});
