/** Creates every topic of topics.json that is missing; existing topics are left as they are. */
import type { Config } from "../common/config.ts";
import { type TopicKey, topicName, topicSpecs } from "../common/contracts/topics.ts";
import { createKafka } from "../common/kafka.ts";
import { logger } from "../common/log.ts";
import { dependency } from "../common/service.ts";

export async function createTopics(config: Config): Promise<string[]> {
  const log = logger("topics");
  const admin = createKafka(config, "taskstream-topics").admin();
  await dependency("KAFKA_BROKERS", config.kafkaBrokers, config.dependencyTimeoutMs, () => admin.connect());
  try {
    const existing = new Set(await admin.listTopics());
    const missing = (Object.keys(topicSpecs) as TopicKey[]).filter((k) => !existing.has(topicName(config.topicPrefix, k)));
    // One request per topic, so the broker's own answer decides: "already exists" (a topic that
    // listTopics' metadata did not show yet, or another replica's) counts as present, not created.
    const created: string[] = [];
    for (const k of missing) {
      const topic = topicName(config.topicPrefix, k);
      const wasCreated = await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: topicSpecs[k].partitions,
            replicationFactor: config.topicReplicationFactor,
            configEntries: [{ name: "retention.ms", value: String(topicSpecs[k].retention_ms) }],
          },
        ],
      });
      if (wasCreated) created.push(topic);
    }
    log.info({ created, prefix: config.topicPrefix }, created.length ? "topics created" : "topics present");
    return created;
  } finally {
    await admin.disconnect();
  }
}
