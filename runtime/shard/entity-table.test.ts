import { describe, expect, test } from "bun:test";
import { EntityTable } from "./entity-table.ts";

describe("entity table passivation", () => {
  test("over the limit, a sweep evicts clean entries down to 90 % and never a dirty one", () => {
    const table = new EntityTable<number>(100);
    for (let i = 0; i < 150; i++) table.load(`clean-${i}`, i);
    table.nextTick();
    for (let i = 0; i < 20; i++) table.set(`dirty-${i}`, i);
    const evicted = table.sweep(3_600_000, Date.now());
    expect(table.size).toBe(90);
    expect(evicted.overLimit).toBe(80);
    for (let i = 0; i < 20; i++) expect(table.get(`dirty-${i}`)).toBe(i);
    expect(table.dirtyCount).toBe(20);
  });

  test("CLOCK: entries touched since the previous sweep outlive untouched ones", () => {
    const table = new EntityTable<number>(10);
    for (let i = 0; i < 10; i++) table.load(`k${i}`, i);
    table.sweep(3_600_000, Date.now());
    table.nextTick();
    for (const k of ["k0", "k1", "k2"]) table.set(k, 1);
    // A checkpoint took them and encoded them (the shard clears the mark as it encodes).
    for (const entry of table.takeDirty()) entry.inSnapshot = false;
    for (let i = 10; i < 14; i++) table.load(`k${i}`, i);
    table.sweep(3_600_000, Date.now());
    expect(table.size).toBe(9);
    for (const k of ["k0", "k1", "k2"]) expect(table.has(k)).toBe(true);
  });

  test("entries idle for longer than idleMs are evicted when clean", () => {
    const table = new EntityTable<number>(1000);
    const t0 = Date.now();
    table.load("idle", 1);
    table.set("busy-dirty", 2);
    table.sweep(1000, t0 + 1000); // starts the idle clock
    table.nextTick();
    table.set("fresh", 3);
    const evicted = table.sweep(1000, t0 + 2500);
    expect(evicted.idle).toBe(1);
    expect(table.has("idle")).toBe(false);
    expect(table.has("busy-dirty")).toBe(true);
    expect(table.has("fresh")).toBe(true);
  });

  test("a checkpoint takes everything dirty and leaves it clean; later changes are dirty again", () => {
    const table = new EntityTable<number>(10);
    const taken = () => table.takeDirty().map((entry) => [entry.key, entry.state]);
    table.set("a", 1);
    table.set("a", 2);
    expect(taken()).toEqual([["a", 2]]);
    expect(table.dirtyCount).toBe(0);
    table.set("a", 3);
    expect(taken()).toEqual([["a", 3]]);
  });

  test("entries taken by a checkpoint are not evicted until their state is encoded", () => {
    const table = new EntityTable<number>(1);
    table.set("a", 1);
    table.set("b", 2);
    const inCheckpoint = table.takeDirty();
    table.nextTick();
    table.sweep(3_600_000, Date.now());
    expect(table.size).toBe(2);
    for (const entry of inCheckpoint) entry.inSnapshot = false;
    table.sweep(3_600_000, Date.now());
    expect(table.size).toBeLessThan(2);
  });
});
