package taskstream.bench;

import static io.gatling.javaapi.core.CoreDsl.*;
import static io.gatling.javaapi.http.HttpDsl.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.gatling.http.action.ws.WsInboundMessage;
import io.gatling.javaapi.core.*;
import io.gatling.javaapi.http.*;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;

/**
 * Suite 4: reminder lateness. REMINDERS tasks with one {"at": …} reminder each, over USERS users
 * (one WebSocket each), created at CREATE_RATE/s (open model), all due within a SPREAD-second
 * window that starts LEAD s after creation should end. Each reminder.triggered that arrives is
 * logged into Gatling's stats as "reminder lateness" (remind_at → arrival) and "reminder fire
 * lag" (remind_at → the scheduler's fired_at); missing and duplicated reminders are counted and
 * logged as failures. Assertion: lateness p99 ≤ LATENESS_P99_MS (1 s), none missing or doubled.
 */
public class ReminderSimulation extends Simulation {
  static final int N = Bench.num("REMINDERS", 10000);
  static final int USERS = Bench.num("USERS", 100);
  static final int SPREAD = Bench.num("SPREAD", 60);
  static final int CREATE_RATE = Bench.num("CREATE_RATE", 100);
  static final int LEAD = Bench.num("LEAD", 10);
  static final int WAIT_AFTER = Bench.num("WAIT_AFTER", 15);
  static final int P99 = Bench.num("LATENESS_P99_MS", 1000);
  static final int CONNECT_S = 5;
  static final String INGEST = Bench.env("INGEST_URL", "http://127.0.0.1:48080");
  static final String FANOUT = Bench.env("FANOUT_URL", "ws://127.0.0.1:48090");
  static final String SECRET = Bench.env("JWT_SECRET", "taskstream-local-dev-secret-do-not-use-in-production");
  static final String RESULTS_DIR = Bench.env("RESULTS_DIR", "target/bench");
  static final int CREATE_SECONDS = (int) Math.ceil((double) N / CREATE_RATE);
  static final String[] USER_IDS = new String[USERS];
  static final String[] TOKENS = new String[USERS];
  static final AtomicInteger socketIndex = new AtomicInteger();
  static final AtomicInteger createIndex = new AtomicInteger();
  static final AtomicLong created = new AtomicLong();
  static final AtomicLong createFailed = new AtomicLong();
  static final AtomicLong received = new AtomicLong();
  static final AtomicLong duplicated = new AtomicLong();
  static final AtomicInteger socketsDone = new AtomicInteger();
  static final Set<String> seen = ConcurrentHashMap.newKeySet();
  static final ConcurrentHistogram lateness = new ConcurrentHistogram(3_600_000L, 3);
  static final ConcurrentHistogram fireLag = new ConcurrentHistogram(3_600_000L, 3);
  static volatile long windowStart;

  static {
    for (int i = 0; i < USERS; i++) {
      USER_IDS[i] = Bench.RUN_ID + "-r" + i;
      TOKENS[i] = Bench.token(SECRET, USER_IDS[i], 6 * 3600);
    }
    Tracker.resultsDir = RESULTS_DIR;
  }

  static void onMessages(java.util.List<WsInboundMessage> messages) {
    for (WsInboundMessage m : messages) {
      if (!(m instanceof WsInboundMessage.Text t)) continue;
      try {
        JsonNode n = Tracker.JSON.readTree(t.message());
        if (!"reminder.triggered".equals(n.path("type").asText())) continue;
        JsonNode d = n.path("data");
        long due = Instant.parse(d.path("remind_at").asText()).toEpochMilli();
        if (!seen.add(d.path("reminder_id").asText())) {
          duplicated.incrementAndGet();
          Tracker.logKo("reminder lateness", due, m.timestamp(), "duplicated reminder");
          continue;
        }
        received.incrementAndGet();
        // Early arrivals (negative lateness) are logged as 0 ms by Gatling's clock; the histogram keeps 0 too.
        Tracker.logOk("reminder lateness", Math.min(due, m.timestamp()), m.timestamp());
        lateness.recordValue(Math.max(0, m.timestamp() - due));
        if (d.hasNonNull("fired_at")) {
          long fired = Instant.parse(d.path("fired_at").asText()).toEpochMilli();
          Tracker.logOk("reminder fire lag", Math.min(due, fired), fired);
          fireLag.recordValue(Math.max(0, fired - due));
        }
      } catch (RuntimeException | IOException e) {
        // not an event of this suite
      }
    }
  }

  {
    ScenarioBuilder listeners = scenario("listeners")
        .exec(Tracker.captureStats())
        .exec(session -> {
          int u = socketIndex.getAndIncrement() % USERS;
          return session.set("user", USER_IDS[u]).set("token", TOKENS[u]);
        })
        .exec(ws("ws connect").wsName("s").connect(FANOUT + "/api/ws/#{user}?token=#{token}").await(20)
            .on(ws.checkTextMessage("ready").matching(substring("\"ready\"")).check(jsonPath("$.seq").exists())))
        .asLongAs(session -> System.currentTimeMillis() < windowStart + (SPREAD + WAIT_AFTER) * 1000L && received.get() + duplicated.get() < N)
        .on(pause(Duration.ofMillis(100)), exec(ws.processUnmatchedMessages("s", (messages, session) -> {
          onMessages(messages);
          return session;
        })))
        .exec(session -> {
          if (socketsDone.incrementAndGet() == USERS) {
            long now = System.currentTimeMillis();
            for (long k = received.get(); k < created.get(); k++) Tracker.logKo("reminder lateness", now, now, "reminder never arrived");
          }
          return session;
        })
        .exec(ws("ws close").wsName("s").close());

    ScenarioBuilder creators = scenario("creators")
        .exec(session -> {
          int i = createIndex.getAndIncrement();
          String at = Instant.ofEpochMilli(windowStart + (long) ((double) i / N * SPREAD * 1000)).toString();
          int u = i % USERS;
          return session.set("user", USER_IDS[u]).set("token", TOKENS[u]).set("i", i).set("at", at);
        })
        .exec(http("create with reminder").post(INGEST + "/api/#{user}/tasks").header("authorization", "Bearer #{token}")
            .body(StringBody("{\"title\":\"reminder #{i}\",\"timezone\":\"UTC\",\"reminders\":[{\"at\":\"#{at}\"}]}")).asJson()
            .check(status().is(202)))
        .exec(session -> {
          if (session.isFailed()) createFailed.incrementAndGet();
          else created.incrementAndGet();
          return session;
        });

    setUp(
        listeners.injectOpen(rampUsers(USERS).during(Duration.ofSeconds(CONNECT_S))),
        creators.injectOpen(nothingFor(Duration.ofSeconds(CONNECT_S)), constantUsersPerSec(CREATE_RATE).during(Duration.ofSeconds(CREATE_SECONDS))))
        .protocols(http.shareConnections().acceptHeader("application/json").warmUp(INGEST + "/healthz")
            .wsUnmatchedInboundMessageBufferSize(100_000).wsMaxReconnects(0))
        .assertions(forAll().failedRequests().count().is(0L), details("reminder lateness").responseTime().percentile(99.0).lte(P99))
        .maxDuration(Duration.ofSeconds(CONNECT_S + CREATE_SECONDS + LEAD + SPREAD + WAIT_AFTER + 60));
  }

  @Override
  public void before() {
    windowStart = System.currentTimeMillis() + (CONNECT_S + CREATE_SECONDS + LEAD) * 1000L;
  }

  @Override
  public void after() {
    String json = String.format(
        "{\"suite\": \"reminders\", \"reminders\": %d, \"created\": %d, \"create_failed\": %d, \"received\": %d, \"duplicated\": %d, "
            + "\"missing\": %d, \"lateness_ms\": {\"p50\": %d, \"p95\": %d, \"p99\": %d, \"max\": %d}, \"fire_lag_ms\": {\"p50\": %d, \"p95\": %d, \"p99\": %d, \"max\": %d}}%n",
        N, created.get(), createFailed.get(), received.get(), duplicated.get(), Math.max(0, created.get() - received.get()),
        lateness.getValueAtPercentile(50), lateness.getValueAtPercentile(95), lateness.getValueAtPercentile(99), lateness.getMaxValue(),
        fireLag.getValueAtPercentile(50), fireLag.getValueAtPercentile(95), fireLag.getValueAtPercentile(99), fireLag.getMaxValue());
    try {
      Files.createDirectories(Path.of(RESULTS_DIR));
      Files.writeString(Path.of(RESULTS_DIR, "reminders.json"), json);
    } catch (IOException e) {
      System.err.println("[bench] could not write reminders.json: " + e);
    }
    System.out.print("[bench] " + json);
  }
}
