import { rejectedHandlers } from "./rejected.ts";
import { reminderHandlers } from "./reminder.ts";
import { settingsHandlers } from "./settings.ts";
import { tagHandlers } from "./tag.ts";
import { taskHandlers } from "./task.ts";
import type { HandlerMap } from "./types.ts";

/** One handler per event type; a type without one fails to compile. */
export const handlers: HandlerMap = { ...taskHandlers, ...reminderHandlers, ...tagHandlers, ...settingsHandlers, ...rejectedHandlers };
export type { ApplyContext, Outcome } from "./types.ts";
