/**
 * Readiness probe for the dev broker: exits 0 when a broker at the given bootstrap address answers
 * a metadata request (kafkajs `describeCluster`), 1 otherwise. A TCP accept alone is not enough:
 * the socket opens before the KRaft controller has elected itself and the broker has registered.
 *
 * @example bun scripts/kafka/probe.ts 127.0.0.1:19092
 */
import { Kafka, logLevel } from "kafkajs";

const bootstrap = process.argv[2];
if (!bootstrap || !/^[^:]+:\d+$/.test(bootstrap)) {
  console.error(`probe: bootstrap "${bootstrap ?? ""}" is not host:port, e.g. 127.0.0.1:19092`);
  process.exit(2);
}

const kafka = new Kafka({
  clientId: "coelho-kafka-probe",
  brokers: [bootstrap],
  connectionTimeout: 1000,
  requestTimeout: 2000,
  // The caller loops; one quick attempt per call keeps each probe short.
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0 || cluster.controller === null) {
    process.exit(1);
  }
  await admin.disconnect();
  process.exit(0);
} catch {
  process.exit(1);
}
