export * from "./envelope.ts";
export * from "./events.ts";
export { INSTANT_RANGE_MESSAGE, isDateTime, isInstantInRange, isUuid as isContractUuid } from "./formats.ts";
export * from "./text.ts";
export * from "./topics.ts";
export * from "./wire.ts";
