/**
 * Preloaded before every test file (bunfig.toml). bunfig's `timeout` covers tests but not hooks:
 * a beforeAll/afterAll that starts or stops a real server (Kafka, MLflow, Prometheus, a platform
 * process) kept bun's 5 s hook default and failed on a slow machine. setDefaultTimeout covers both;
 * a file that needs more still calls it itself.
 */
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(120_000);
