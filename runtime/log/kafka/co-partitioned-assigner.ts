/**
 * A kafkajs partition assigner that gives each member the same partition numbers of every topic
 * of the group: partition p of each topic goes to member p mod n (members sorted by id), as Kafka
 * Streams assigns a task's co-partitioned topics together.
 *
 * Why: a shard reads partition p of several topics keyed alike (a use case's keyed inputs, e.g.
 * transactions and labels keyed by card), so those partitions must land on one process.
 * kafkajs's default round-robin assigner deals the partitions of all topics out in one sequence,
 * so partition p of two topics can go to two members. With this one, `KafkaLog.consume` is
 * co-partitioned as `Log.consume` promises, and the shards read keyed inputs directly, with no
 * repartition hop.
 *
 * Every member of a group must use it (a group agrees on one assignor protocol); all of the
 * platform's members do, through `GroupConsumer`. A member that subscribed to only some of the
 * topics gets partitions of those only.
 */
import { AssignerProtocol, type PartitionAssigner } from "kafkajs";

/** The protocol name members announce: changing it makes old and new members incompatible. */
export const CO_PARTITIONED_ASSIGNER = "CoelhoCoPartitioned";
const VERSION = 0;

/** Assigns partition p of every topic to the same member; see the module comment. */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED_ASSIGNER,
  version: VERSION,
  async assign({ members, topics }) {
    const memberIds = members.map(({ memberId }) => memberId).sort();
    const subscribed = new Map(
      members.map(({ memberId, memberMetadata }) => [
        memberId,
        new Set(AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics ?? topics),
      ]),
    );
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (const topic of topics) {
      const candidates = memberIds.filter((id) => subscribed.get(id)?.has(topic));
      if (candidates.length === 0) continue;
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const owner = assignment.get(candidates[partitionId % candidates.length] as string);
        if (!owner) continue;
        owner[topic] ??= [];
        owner[topic].push(partitionId);
      }
    }
    return memberIds.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: VERSION,
        assignment: assignment.get(memberId) ?? {},
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: CO_PARTITIONED_ASSIGNER,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: VERSION,
        topics,
        userData: Buffer.alloc(0),
      }),
    };
  },
});
