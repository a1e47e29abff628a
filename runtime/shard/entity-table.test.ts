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
    table.markClean();
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

  test("a checkpoint marks everything clean; later changes are dirty again", () => {
    const table = new EntityTable<number>(10);
    table.set("a", 1);
    table.set("a", 2);
    expect([...table.dirty()]).toEqual([["a", 2]]);
    table.markClean();
    expect(table.dirtyCount).toBe(0);
    table.set("a", 3);
    expect([...table.dirty()]).toEqual([["a", 3]]);
  });
});
