/**
 * Consumer group positions: one small JSON file per group (`groups/<group>.json`), replaced
 * atomically on every commit, so a restart finds either the previous positions or the new ones.
 *
 * Commits of one group that arrive while its file is being written share the next write, so a shard
 * per partition committing at the same moment costs one write, not one each.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ValidationError } from "../../errors.ts";
import type { TopicPartition } from "../log.ts";
import { TEMP_SUFFIX, writeFileAtomic } from "./atomic-file.ts";

/** Longest group name, once URI-encoded into a file name (file names stop at 255 bytes). */
export const GROUP_FILE_NAME_BYTES_MAX = 240;
const GROUP_FILE_SUFFIX = ".json";

/** Contents of a group file. */
interface GroupFile {
  version: 1;
  group: string;
  /** topic → partition → next offset to read. */
  offsets: Record<string, Record<string, number>>;
}

/** One group's positions and the state of its file. */
class GroupState {
  readonly offsets = new Map<string, number>();
  /** Bumped on every commit; a write covers the commits up to the generation it saw. */
  generation = 0;
  writtenGeneration = 0;
  writing: Promise<void> | null = null;
}

/** Throws a ValidationError unless `group` is a usable group name. */
export function validateGroupName(group: unknown): asserts group is string {
  if (
    typeof group !== "string" ||
    group.length === 0 ||
    encodeURIComponent(group).length > GROUP_FILE_NAME_BYTES_MAX
  ) {
    throw new ValidationError(
      "group",
      `${JSON.stringify(group)} is not a group name; expected a non-empty string of at most ` +
        `${GROUP_FILE_NAME_BYTES_MAX} characters once URI-encoded`,
    );
  }
}

export class GroupOffsets {
  private readonly dir: string;
  private readonly durable: boolean;
  private readonly groups = new Map<string, GroupState>();

  /**
   * Loads every group file under `dir` (created if absent).
   *
   * @param durable fsync each file and the folder before a commit resolves
   */
  constructor(dir: string, durable: boolean) {
    this.dir = dir;
    this.durable = durable;
    fs.mkdirSync(dir, { recursive: true });
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith(TEMP_SUFFIX)) {
        fs.rmSync(path.join(dir, name), { force: true });
        continue;
      }
      if (!name.endsWith(GROUP_FILE_SUFFIX)) continue;
      const file = readGroupFile(path.join(dir, name));
      const state = this.state(file.group);
      for (const [topic, partitions] of Object.entries(file.offsets)) {
        for (const [partition, offset] of Object.entries(partitions)) {
          state.offsets.set(`${topic}/${partition}`, offset);
        }
      }
    }
  }

  /** The group's stored position for `tp`, or null when it never committed one. */
  committed(group: string, tp: TopicPartition): number | null {
    return this.groups.get(group)?.offsets.get(`${tp.topic}/${tp.partition}`) ?? null;
  }

  /** Stores the group's position for `tp`; resolves once the group file holds it. */
  async commit(group: string, tp: TopicPartition, nextOffset: number): Promise<void> {
    const state = this.state(group);
    state.offsets.set(`${tp.topic}/${tp.partition}`, nextOffset);
    const generation = ++state.generation;
    // Each pass either starts a write that includes this commit or waits for the one in flight,
    // which may not; at most two passes.
    while (state.writtenGeneration < generation) {
      if (state.writing === null) {
        state.writing = this.write(group, state).finally(() => {
          state.writing = null;
        });
      }
      await state.writing;
    }
  }

  private async write(group: string, state: GroupState): Promise<void> {
    const generation = state.generation;
    const file: GroupFile = { version: 1, group, offsets: {} };
    for (const [key, offset] of state.offsets) {
      const slash = key.lastIndexOf("/");
      const topic = key.slice(0, slash);
      const partitions = file.offsets[topic] ?? {};
      partitions[key.slice(slash + 1)] = offset;
      file.offsets[topic] = partitions;
    }
    const fileName = `${encodeURIComponent(group)}${GROUP_FILE_SUFFIX}`;
    await writeFileAtomic(path.join(this.dir, fileName), `${JSON.stringify(file)}\n`, this.durable);
    state.writtenGeneration = generation;
  }

  private state(group: string): GroupState {
    let state = this.groups.get(group);
    if (state === undefined) {
      state = new GroupState();
      this.groups.set(group, state);
    }
    return state;
  }
}

/** Parses a group file, or throws naming the file: it was written atomically, so it is damage. */
function readGroupFile(filePath: string): GroupFile {
  let file: GroupFile;
  try {
    file = JSON.parse(fs.readFileSync(filePath, "utf8")) as GroupFile;
  } catch (error) {
    throw new ValidationError(
      filePath,
      `is not a group positions file (${(error as Error).message}); restore it or delete it to forget that group's positions`,
    );
  }
  if (file?.version !== 1 || typeof file.group !== "string" || typeof file.offsets !== "object") {
    throw new ValidationError(
      filePath,
      'is not a version 1 group positions file; expected {"version":1,"group","offsets"}',
    );
  }
  return file;
}
