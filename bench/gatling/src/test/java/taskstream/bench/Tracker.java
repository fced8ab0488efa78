package taskstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gatling.commons.stats.KO$;
import io.gatling.commons.stats.OK$;
import io.gatling.core.stats.StatsEngine;
import io.gatling.http.action.ws.WsInboundMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.ConcurrentHistogram;
import scala.Option;

/**
 * The part Gatling's own checks cannot express: "this write arrived on every socket of its owner".
 *
 * <p>Writers count accepted writes per user and per step. Each listening socket keeps the last
 * sequence number it saw (taskstream's per-user {@code seq}, Centrifugo's per-channel publication
 * {@code offset}; both strictly +1): a jump is a loss, a repeat a duplicate. Every arrival is
 * logged into Gatling's own stats engine as a request named after the step its write was sent in
 * ({@code e2e s00 1000/s}), from the HTTP send time (carried in the correlation id) to the
 * arrival time Gatling stamped on the frame, so the HTML report, stats.json and the assertions
 * all see end-to-end latency as an ordinary request. When the last socket closes, each step's
 * missing deliveries (accepted × sockets − received) are logged as failed requests of that step.
 */
final class Tracker {
  private Tracker() {}

  static final int MAX_STEPS = 64;
  /** The step index of the load generator's warm-up writes (FanoutSimulation): counted and checked, never reported as a step. */
  static final int WARM_UP_STEP = MAX_STEPS - 1;
  static final String WARM_UP_NAME = "e2e warm-up";
  static final ObjectMapper JSON = new ObjectMapper();

  /** Gatling's stats engine, captured when the scenario is built (see {@link #captureStats}). */
  static volatile StatsEngine stats;

  static final AtomicLongArray sent = new AtomicLongArray(MAX_STEPS);
  static final AtomicLongArray accepted = new AtomicLongArray(MAX_STEPS);
  static final AtomicLongArray failed = new AtomicLongArray(MAX_STEPS);
  static final AtomicLongArray skipped = new AtomicLongArray(MAX_STEPS);
  static final AtomicLongArray received = new AtomicLongArray(MAX_STEPS);
  static final AtomicLongArray duplicated = new AtomicLongArray(MAX_STEPS);
  static final AtomicLong gapLost = new AtomicLong();
  static final AtomicLong tailLost = new AtomicLong();
  static final AtomicLong unparsed = new AtomicLong();
  static final java.util.Queue<String> deficits = new java.util.concurrent.ConcurrentLinkedQueue<>();
  static final AtomicLong cfUnsubscribes = new AtomicLong();
  static final AtomicLong cfDisconnects = new AtomicLong();
  static final AtomicLong cfRecoveries = new AtomicLong();
  static final AtomicLong cfErrors = new AtomicLong();
  static final AtomicLong socketsOpen = new AtomicLong();
  static final AtomicLong socketsReady = new AtomicLong();
  static final AtomicLong socketsDone = new AtomicLong();
  static final AtomicInteger socketIndex = new AtomicInteger();
  static final Map<String, AtomicLong> acceptedByUser = new ConcurrentHashMap<>();
  /** Set when a step fell so far behind that the later, higher steps are not sent (bounded load). */
  static volatile int saturatedAt = -1;

  static String[] stepNames = new String[0];

  /**
   * The same end-to-end samples that go to Gatling's stats engine, per step, for tracker.json
   * (Gatling 3.14's report keeps its figures inside the HTML only). Milliseconds, 3 digits.
   */
  static final ConcurrentHistogram[] e2eMs = new ConcurrentHistogram[MAX_STEPS];
  /** HTTP write → answer per step, as the writer saw it (the report has Gatling's own figure). */
  static final ConcurrentHistogram[] writeMs = new ConcurrentHistogram[MAX_STEPS];

  static {
    for (int i = 0; i < MAX_STEPS; i++) {
      e2eMs[i] = new ConcurrentHistogram(3_600_000L, 3);
      writeMs[i] = new ConcurrentHistogram(3_600_000L, 3);
    }
  }

  static void recordWrite(int step, long ms) {
    writeMs[step].recordValue(Math.max(0, Math.min(ms, 3_600_000L)));
  }

  private static String hist(ConcurrentHistogram h) {
    if (h.getTotalCount() == 0) return "null";
    return String.format("{\"count\": %d, \"p50\": %d, \"p95\": %d, \"p99\": %d, \"max\": %d, \"mean\": %.1f}", h.getTotalCount(),
        h.getValueAtPercentile(50), h.getValueAtPercentile(95), h.getValueAtPercentile(99), h.getMaxValue(), h.getMean());
  }

  /** An io.gatling.javaapi ActionBuilder that only grabs the stats engine and adds no action. */
  static io.gatling.javaapi.core.ActionBuilder captureStats() {
    return () -> (io.gatling.core.action.builder.ActionBuilder) (ctx, next) -> {
      stats = ctx.coreComponents().statsEngine();
      return next;
    };
  }

  @SuppressWarnings("unchecked")
  private static final scala.collection.immutable.List<String> NO_GROUPS =
      (scala.collection.immutable.List<String>) (Object) scala.collection.immutable.Nil$.MODULE$;

  static void logOk(String name, long start, long end) {
    stats.logResponse("listeners", NO_GROUPS, name, start, end, OK$.MODULE$, Option.empty(), Option.empty());
  }

  static void logKo(String name, long start, long end, String message) {
    stats.logResponse("listeners", NO_GROUPS, name, start, end, KO$.MODULE$, Option.empty(), Option.apply(message));
  }

  static void accepted(String user, int step) {
    accepted.incrementAndGet(step);
    acceptedByUser.computeIfAbsent(user, k -> new AtomicLong()).incrementAndGet();
  }

  static long acceptedFor(String user) {
    AtomicLong n = acceptedByUser.get(user);
    return n == null ? 0 : n.get();
  }

  /** Deliveries expected but not yet received (a backlog measure for the saturation guard). */
  static long outstanding(int sockets) {
    long acc = 0;
    long rec = 0;
    for (int i = 0; i < MAX_STEPS; i++) {
      acc += accepted.get(i);
      rec += received.get(i);
    }
    return acc * sockets - rec;
  }

  /** One listening socket (one WebSocket of one Gatling virtual user). */
  static final class Socket {
    final String user;
    final boolean centrifugo;
    long base = -1; // seq/offset when the socket became ready
    long last = -1;
    long got;
    String epoch = "";
    int commandId = 2;
    boolean resubscribe;
    boolean pong;

    Socket(String user, boolean centrifugo) {
      this.user = user;
      this.centrifugo = centrifugo;
    }

    void ready(long seq) {
      base = last = seq;
      socketsReady.incrementAndGet();
    }

    boolean caughtUp() {
      return base >= 0 && last >= base + acceptedFor(user);
    }

    void onMessages(List<WsInboundMessage> messages) {
      for (WsInboundMessage m : messages) {
        if (!(m instanceof WsInboundMessage.Text t)) continue;
        String text = t.message();
        if (centrifugo) {
          // Centrifugo's JSON protocol may put several replies/pushes in one frame, one per line.
          // A frame that is only a ping was answered by wsAutoReplyTextFrame (and still reaches this
          // buffer): a second pong would be a bad request that Centrifugo disconnects for.
          if (text.equals("{}")) continue;
          for (String line : text.split("\n")) onCentrifugo(line, m.timestamp());
        } else {
          onTaskstream(text, m.timestamp());
        }
      }
    }

    private void onTaskstream(String text, long at) {
      try {
        JsonNode n = JSON.readTree(text);
        JsonNode seq = n.get("seq");
        if (seq == null || n.get("correlation_id") == null || !"task.created".equals(n.path("type").asText())) return;
        arrival(seq.asLong(), n.get("correlation_id").asText(), at);
      } catch (IOException e) {
        unparsed.incrementAndGet();
      }
    }

    private void onCentrifugo(String line, long at) {
      if (line.isBlank()) return;
      if (line.equals("{}")) { // a server ping batched with other replies (a lone one is auto-replied)
        pong = true;
        return;
      }
      try {
        JsonNode root = JSON.readTree(line);
        JsonNode push = root.path("push");
        if (push.has("unsubscribe")) {
          // The server lost track of the channel's stream (e.g. code 2500 "insufficient state" when
          // its Redis pub/sub dropped a message): a Centrifugo client resubscribes with recovery.
          cfUnsubscribes.incrementAndGet();
          resubscribe = true;
          return;
        }
        if (push.has("disconnect")) {
          cfDisconnects.incrementAndGet();
          return;
        }
        JsonNode recovered = root.path("subscribe").path("publications");
        if (root.has("id") && root.path("subscribe").path("recovered").asBoolean(false)) cfRecoveries.incrementAndGet();
        if (root.has("id") && root.has("error")) cfErrors.incrementAndGet();
        for (JsonNode p : recovered) arrival(p.path("offset").asLong(), p.path("data").path("cid").asText(), at);
        JsonNode pub = push.path("pub");
        if (pub.isMissingNode()) return;
        arrival(pub.path("offset").asLong(), pub.path("data").path("cid").asText(), at);
      } catch (IOException e) {
        unparsed.incrementAndGet();
      }
    }

    /** Centrifugo: commands to send now (a pong; a resubscribe with recovery from the last offset seen), or null. */
    String takeCommands() {
      String cmd = pong ? "{}" : null;
      pong = false;
      if (resubscribe) {
        resubscribe = false;
        String sub = String.format("{\"id\":%d,\"subscribe\":{\"channel\":\"user:%s\",\"recover\":true,\"offset\":%d,\"epoch\":\"%s\"}}",
            ++commandId, user, last, epoch);
        cmd = cmd == null ? sub : cmd + "\n" + sub;
      }
      return cmd;
    }

    private void arrival(long seq, String cid, long at) {
      if (base < 0) return; // before ready: covered by the ready seq
      long sentMs = Bench.sentAt(cid);
      int step = sentMs < 0 ? 0 : Bench.stepOf(cid);
      String name = step == WARM_UP_STEP ? WARM_UP_NAME : step < stepNames.length ? stepNames[step] : "e2e other";
      if (seq <= last) {
        duplicated.incrementAndGet(step);
        logKo(name, sentMs < 0 ? at : sentMs, at, "duplicated delivery");
        return;
      }
      if (seq > last + 1) gapLost.addAndGet(seq - last - 1);
      last = seq;
      got++;
      received.incrementAndGet(step);
      if (sentMs >= 0) {
        logOk(name, sentMs, at);
        e2eMs[step].recordValue(Math.max(0, Math.min(at - sentMs, 3_600_000L)));
      }
    }
  }

  /** A socket is done listening; the last one to finish logs every step's missing deliveries. */
  static void finish(Socket s, int totalSockets, int socketsPerUser) {
    if (s.base >= 0) {
      long expected = s.base + acceptedFor(s.user);
      if (expected > s.last) {
        tailLost.addAndGet(expected - s.last);
        if (deficits.size() < 40) deficits.add(String.format("{\"user\": \"%s\", \"base\": %d, \"last\": %d, \"expected\": %d, \"received\": %d}", s.user, s.base, s.last, expected, s.got));
      }
    }
    if (socketsDone.incrementAndGet() == totalSockets) {
      long now = System.currentTimeMillis();
      mark("mark-end");
      for (int i = 0; i < stepNames.length; i++) {
        long missing = accepted.get(i) * socketsPerUser - received.get(i);
        for (long k = 0; k < missing; k++) logKo(stepNames[i], now, now, "not delivered to every socket");
      }
      long missingWarmUp = accepted.get(WARM_UP_STEP) * socketsPerUser - received.get(WARM_UP_STEP);
      for (long k = 0; k < missingWarmUp; k++) logKo(WARM_UP_NAME, now, now, "not delivered to every socket");
    }
  }

  static String resultsDir = "target/bench";

  /** A marker file with the current time in ms, for bench/run.sh's measurement window. */
  static void mark(String name) {
    try {
      Files.createDirectories(Path.of(resultsDir));
      Files.writeString(Path.of(resultsDir, name), Long.toString(System.currentTimeMillis()));
    } catch (IOException e) {
      System.err.println("[bench] could not write " + name + ": " + e);
    }
  }

  /** Counters of the run, for bench/gatling-summary.mjs (percentiles come from Gatling's stats.json). */
  static void writeJson(Path file, Map<String, Object> params, int[] rates, int socketsPerUser) throws IOException {
    StringBuilder b = new StringBuilder("{\n");
    b.append(" \"params\": ").append(JSON.writeValueAsString(params)).append(",\n");
    b.append(" \"saturated_at_step\": ").append(saturatedAt).append(",\n");
    b.append(" \"gap_lost\": ").append(gapLost.get()).append(",\n");
    b.append(" \"tail_lost\": ").append(tailLost.get()).append(",\n");
    b.append(" \"unparsed\": ").append(unparsed.get()).append(",\n");
    b.append(String.format(" \"centrifugo\": {\"unsubscribe_pushes\": %d, \"disconnect_pushes\": %d, \"recovered_resubscribes\": %d, \"command_errors\": %d},%n",
        cfUnsubscribes.get(), cfDisconnects.get(), cfRecoveries.get(), cfErrors.get()));
    b.append(" \"sockets\": {\"opened\": ").append(socketsOpen.get()).append(", \"ready\": ").append(socketsReady.get())
        .append(", \"done\": ").append(socketsDone.get()).append("},\n");
    b.append(" \"sockets_short\": [").append(String.join(", ", deficits)).append("],\n");
    b.append(" \"steps\": [\n");
    for (int i = 0; i < rates.length; i++) {
      long acc = accepted.get(i);
      b.append(String.format(
          "  {\"step\": %d, \"name\": %s, \"target_rate\": %d, \"sent\": %d, \"accepted\": %d, \"failed\": %d, \"skipped\": %d, "
              + "\"expected_deliveries\": %d, \"received\": %d, \"duplicated\": %d, \"missing\": %d,\n   \"e2e_ms\": %s,\n   \"write_ms\": %s}%s\n",
          i, JSON.writeValueAsString(stepNames[i]), rates[i], sent.get(i), acc, failed.get(i), skipped.get(i), acc * socketsPerUser,
          received.get(i), duplicated.get(i), Math.max(0, acc * socketsPerUser - received.get(i)), hist(e2eMs[i]), hist(writeMs[i]),
          i + 1 < rates.length ? "," : ""));
    }
    b.append(" ]\n}\n");
    Files.createDirectories(file.getParent());
    Files.writeString(file, b.toString());
  }
}
