/**
 * Preloaded by bun test (bunfig.toml): an afterAll here runs once, after every test file. It stops
 * the servers a test run started for several files and would otherwise leave running (bun test
 * fires no process exit hooks).
 */
import { afterAll } from "bun:test";
import { stopBrokerIfStarted } from "./kafka-broker.ts";

afterAll(() => stopBrokerIfStarted(), 120_000);
