import { describe, expect, test } from "bun:test";
import { IllegalTransitionError, ShardLifecycle } from "./shard-lifecycle.ts";

describe("shard lifecycle", () => {
  test("the normal life: assigned → restoring → running → revoking → gone", () => {
    const life = new ShardLifecycle("shard-0");
    expect(life.state).toBe("assigned");
    expect(life.send({ type: "RESTORE" })).toBe("restoring");
    expect(life.send({ type: "RESTORED" })).toBe("running");
    expect(life.send({ type: "REVOKE" })).toBe("revoking");
    expect(life.send({ type: "REVOKED" })).toBe("gone");
  });

  test("a crashed shard restores again; revocation is allowed while restoring", () => {
    const life = new ShardLifecycle("shard-1");
    life.send({ type: "RESTORE" });
    life.send({ type: "RESTORED" });
    expect(life.send({ type: "RESTART" })).toBe("restoring");
    expect(life.send({ type: "REVOKE" })).toBe("revoking");
  });

  test("illegal transitions throw and leave the state as it was", () => {
    const life = new ShardLifecycle("shard-2");
    expect(() => life.send({ type: "RESTORED" })).toThrow(IllegalTransitionError);
    expect(() => life.send({ type: "RESTORED" })).toThrow(
      "shard-2: illegal transition RESTORED in state assigned",
    );
    expect(life.state).toBe("assigned");
    life.send({ type: "REVOKE" });
    life.send({ type: "REVOKED" });
    expect(() => life.send({ type: "RESTORE" })).toThrow(IllegalTransitionError);
    expect(life.state).toBe("gone");
  });
});
