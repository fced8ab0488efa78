package taskstream.bench;

import static io.gatling.javaapi.core.CoreDsl.*;
import static io.gatling.javaapi.http.HttpDsl.*;

import io.gatling.javaapi.core.*;
import io.gatling.javaapi.http.*;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Suite 5: query latency on the seeded data (bench/seed-tasks.sh: SEED_USER_TASKS tasks for user
 * q-big, the rest 100 per user q-u<n>). Open model: QUERY_RATE queries/s for QUERY_DURATION s,
 * each of a random kind (its own request name, so the report and the assertions have one line per
 * kind), fresh parameters every time. next_page follows the cursor of a default list; small_user
 * is a 100-task user as baseline. Assertion per kind: p95 ≤ QUERY_P95_MS (issue 14: 50 ms).
 */
public class QuerySimulation extends Simulation {
  static final int RATE = Bench.num("QUERY_RATE", 20);
  static final int DURATION = Bench.num("QUERY_DURATION", 60);
  static final int P95 = Bench.num("QUERY_P95_MS", 50);
  static final String INGEST = Bench.env("INGEST_URL", "http://127.0.0.1:48080");
  static final String SECRET = Bench.env("JWT_SECRET", "taskstream-local-dev-secret-do-not-use-in-production");
  static final String BIG = "q-big";
  static final String TOK_BIG = Bench.token(SECRET, BIG, 6 * 3600);
  static final String TOK_SMALL = Bench.token(SECRET, "q-u1", 6 * 3600);
  static final String[] COMMON = {"report", "meeting", "deploy", "invoice", "kafka", "review", "budget", "dentist"};
  static final long DAY = 86_400_000L;

  static String pick(String... a) {
    return a[ThreadLocalRandom.current().nextInt(a.length)];
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  static final Map<String, Supplier<String>> KINDS = new LinkedHashMap<>();

  static {
    KINDS.put("list_default", () -> "limit=50");
    KINDS.put("pending_by_due", () -> "status=pending&sort_by=due_date&sort_order=asc&limit=50");
    KINDS.put("priority_high", () -> "priority=high,urgent&sort_by=priority&sort_order=desc&limit=50");
    KINDS.put("search_word", () -> "search=" + pick(COMMON) + "&limit=50");
    KINDS.put("search_two_words", () -> "search=" + enc(pick(COMMON) + " " + pick(COMMON)) + "&limit=50");
    KINDS.put("search_substring", () -> "search=" + pick("epor", "eetin", "nvoic", "udge") + "&limit=50");
    KINDS.put("search_rare", () -> "search=" + pick("zzyzx", "qwertyuiop", "nonexistent") + "&limit=50");
    KINDS.put("tag_filter", () -> "tags=tag" + (1 + ThreadLocalRandom.current().nextInt(20)) + "&limit=50");
    KINDS.put("due_range_week", () -> {
      long s = System.currentTimeMillis() + (long) ((ThreadLocalRandom.current().nextDouble() * 300 - 150) * DAY);
      return "due_date_start=" + Instant.ofEpochMilli(s) + "&due_date_end=" + Instant.ofEpochMilli(s + 7 * DAY) + "&sort_by=due_date&limit=50";
    });
    KINDS.put("sort_title", () -> "sort_by=title&sort_order=" + pick("asc", "desc") + "&limit=50");
    KINDS.put("search_pending_sorted", () -> "search=" + pick(COMMON) + "&status=pending&sort_by=due_date&limit=50");
  }

  static final List<String> NAMES = new ArrayList<>(KINDS.keySet());

  static HttpRequestActionBuilder get(String name, String user) {
    return http(name).get(INGEST + "/api/" + user + "/tasks?#{qs}").header("authorization", "Bearer " + (user.equals(BIG) ? TOK_BIG : TOK_SMALL))
        .check(status().is(200));
  }

  {
    ScenarioBuilder queries = scenario("queries")
        .exec(session -> {
          double n = ThreadLocalRandom.current().nextDouble();
          String kind = n < 0.07 ? "small_user" : n < 0.14 ? "next_page" : NAMES.get(ThreadLocalRandom.current().nextInt(NAMES.size()));
          String qs = kind.equals("small_user") || kind.equals("next_page") ? "limit=50" : KINDS.get(kind).get();
          return session.set("kind", kind).set("qs", qs);
        })
        .doSwitchOrElse("#{kind}").on(
            onCase("small_user").then(exec(get("small_user", "q-u1"))),
            onCase("next_page").then(exec(get("list_default", BIG).check(jsonPath("$.next_cursor").saveAs("cursor")))
                .exec(session -> session.set("qs", "limit=50&cursor=" + enc(session.getString("cursor"))))
                .exec(get("next_page", BIG))))
        .orElse(exec(http("#{kind}").get(INGEST + "/api/" + BIG + "/tasks?#{qs}").header("authorization", "Bearer " + TOK_BIG)
            .check(status().is(200))));

    List<Assertion> assertions = new ArrayList<>();
    assertions.add(forAll().failedRequests().count().is(0L));
    if (!Bench.env("ASSERT", "1").equals("0")) {
      for (String k : NAMES) assertions.add(details(k).responseTime().percentile(95.0).lte(P95));
      assertions.add(details("next_page").responseTime().percentile(95.0).lte(P95));
      assertions.add(details("small_user").responseTime().percentile(95.0).lte(P95));
    }
    setUp(queries.injectOpen(constantUsersPerSec(RATE).during(Duration.ofSeconds(DURATION))))
        .protocols(http.shareConnections().acceptHeader("application/json").warmUp(INGEST + "/healthz"))
        .assertions(assertions)
        .maxDuration(Duration.ofSeconds(DURATION + 60));
  }
}
