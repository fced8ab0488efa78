import type { Config } from "../common/config.ts";

export async function replayCommand(_config: Config, _args: string[]): Promise<number> {
  throw new Error("replay is not implemented yet");
}
