/**
 * `bun run bench`: runs every benchmark in its own process (so one's heap and JIT state do not
 * colour another's figures) and prints their lines. `bun run bench -- log` runs those whose file
 * name contains "log".
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const filter = process.argv[2] ?? "";
const files = readdirSync(import.meta.dir)
  .filter((f) => f.endsWith(".ts") && f !== "index.ts" && f.includes(filter))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`== ${file}`);
  const proc = Bun.spawn(["bun", join(import.meta.dir, file)], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await proc.exited) !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
