/** Topic names come from the one topics file, redpanda/topics.json; code refers to them by key. */
import { readFileSync } from "node:fs";

export interface TopicSpec {
  name: string;
  partitions: number;
  retention_ms: number;
  purpose: string;
}
export type TopicKey = "taskEvents" | "reminders" | "deadLetters";

export const topicsFile = new URL("../../redpanda/topics.json", import.meta.url);
export const topicSpecs: Record<TopicKey, TopicSpec> = JSON.parse(readFileSync(topicsFile, "utf8")).topics;

/** The broker-side name of a topic, with the deployment's TOPIC_PREFIX. */
export const topicName = (prefix: string, key: TopicKey): string => `${prefix}${topicSpecs[key].name}`;
