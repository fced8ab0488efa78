package taskstream.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Parameters of a run (environment variables, as bench/run.sh sets them; a -D system property of
 * the same name wins) and the small helpers every simulation shares: HS256 tokens and time-stamped
 * correlation ids.
 */
final class Bench {
  private Bench() {}

  static String env(String name, String dflt) {
    String v = System.getProperty(name);
    if (v == null || v.isEmpty()) v = System.getenv(name);
    return v == null || v.isEmpty() ? dflt : v;
  }

  static int num(String name, int dflt) {
    return Integer.parseInt(env(name, Integer.toString(dflt)));
  }

  static double dbl(String name, double dflt) {
    return Double.parseDouble(env(name, Double.toString(dflt)));
  }

  static int[] ints(String name, String dflt) {
    return Arrays.stream(env(name, dflt).split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
  }

  static final String RUN_ID = env("RUN_ID", "g" + Long.toString(System.currentTimeMillis(), 36));

  /** HS256 JWT, the same claims as `taskstream token` (iss/aud are ignored by Centrifugo). */
  static String token(String secret, String sub, long ttlSeconds) {
    long now = System.currentTimeMillis() / 1000;
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String h = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
    String p = b64.encodeToString(
        String.format("{\"sub\":\"%s\",\"iss\":\"taskstream-local\",\"aud\":\"taskstream\",\"iat\":%d,\"exp\":%d}", sub, now, now + ttlSeconds)
            .getBytes(StandardCharsets.UTF_8));
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return h + "." + p + "." + b64.encodeToString(mac.doFinal((h + "." + p).getBytes(StandardCharsets.UTF_8)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A UUIDv7-shaped correlation id: the first 48 bits are the send time in ms (as UUIDv7 defines),
   * the next 8 bits after the version nibble the ramp step the write was sent in. Whoever receives
   * the event knows when and in which step the HTTP write left, without any shared map.
   */
  static String correlationId(long sentMs, int step) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (sentMs << 16) | 0x7000L | ((long) (step & 0xff) << 4) | r.nextInt(16);
    long lsb = (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
    return new java.util.UUID(msb, lsb).toString();
  }

  /** Send time (ms) of a {@link #correlationId}, or -1 for another kind of id. */
  static long sentAt(String id) {
    if (id == null || id.length() != 36 || id.charAt(14) != '7') return -1;
    return Long.parseLong(id.substring(0, 8) + id.substring(9, 13), 16);
  }

  /** Step of a {@link #correlationId}. */
  static int stepOf(String id) {
    return Integer.parseInt(id.substring(15, 17), 16);
  }
}
