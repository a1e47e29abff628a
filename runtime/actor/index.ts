/**
 * The actor runtime: actors with bounded mailboxes, supervisors with OTP strategies, a dead-letter
 * sink and the root of the tree. See `types.ts` for the contract.
 *
 * @example
 * import { spawn, Supervisor, runRoot } from "../runtime/actor/index.ts";
 */
export {
  type Actor,
  type ActorStatus,
  DRAIN_BATCH_MAX,
  ON_STOP_MIN_MS,
  type SpawnOptions,
  spawn,
} from "./actor.ts";
export {
  type DeadLetter,
  type DeadLetterListener,
  DeadLetterSink,
  deadLetterSink,
} from "./dead-letters.ts";
export { Mailbox } from "./mailbox.ts";
export {
  type RootOptions,
  runRoot,
  type StopRootOptions,
  shutdownOnSignals,
  stopRoot,
} from "./root.ts";
export {
  type ChildInfo,
  type ChildState,
  Supervisor,
  type SupervisorStatus,
} from "./supervisor.ts";
export type * from "./types.ts";
