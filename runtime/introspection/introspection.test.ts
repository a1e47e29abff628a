import { describe, expect, test } from "bun:test";
import { CommandNotAvailableError, CommandRegistry } from "./commands.ts";
import { MachineRegistry } from "./machines.ts";
import { PlatformEvents } from "./platform-events.ts";

describe("machine registry", () => {
  test("lists live snapshots by kind and use case, and forgets unregistered machines", () => {
    const registry = new MachineRegistry();
    let state = "restoring";
    const off = registry.register({
      kind: "shard",
      name: "fraud-0",
      usecase: "fraud",
      snapshot: () => ({ state }),
    });
    registry.register({
      kind: "rollout",
      name: "fraud",
      usecase: "fraud",
      snapshot: () => ({ state: "idle" }),
    });
    registry.register({
      kind: "shard",
      name: "counter-0",
      usecase: "counter",
      snapshot: () => ({ state: "running" }),
    });
    state = "running";
    expect(registry.list({ kind: "shard", usecase: "fraud" })).toEqual([
      { kind: "shard", name: "fraud-0", usecase: "fraud", state: "running" },
    ]);
    expect(registry.list().map((m) => `${m.kind}/${m.name}`)).toEqual([
      "rollout/fraud",
      "shard/counter-0",
      "shard/fraud-0",
    ]);
    off();
    expect(registry.list({ usecase: "fraud" }).map((m) => m.kind)).toEqual(["rollout"]);
  });
});

describe("commands", () => {
  test("run calls the registered handler; an unknown command is CommandNotAvailableError", async () => {
    const registry = new CommandRegistry();
    const off = registry.register("fraud", "retrain", async (args) => ({ started: true, ...args }));
    expect(await registry.run("fraud", "retrain", { reason: "api" })).toEqual({
      started: true,
      reason: "api",
    });
    expect(registry.run("fraud", "promote")).rejects.toThrow(CommandNotAvailableError);
    off();
    expect(registry.has("fraud", "retrain")).toBe(false);
  });
});

describe("platform events", () => {
  test("subscribers get each event; one that throws does not stop the others", () => {
    const bus = new PlatformEvents();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error("boom");
    });
    const off = bus.subscribe((event) => seen.push(`${event.type}:${event.usecase}`));
    bus.publish("drift", { detector: "psi" }, "fraud");
    off();
    bus.publish("drift", {}, "fraud");
    expect(seen).toEqual(["drift:fraud"]);
    expect(bus.subscriberCount).toBe(1);
  });
});
