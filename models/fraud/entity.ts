/**
 * The card-fraud use case as the runtime sees it: an {@link EntityModel} whose entity is the card.
 * Scoring hooks in through the shard's observer, computing features from the `before` state.
 *
 * The shards read transactions and delayed labels, both keyed by card (see docs/fraud.md): a
 * record read from the labels topic, or re-keyed from it (header `coelho.src.topic`), decodes as
 * a {@link Label}, anything else as a {@link Transaction}. Labels do not change the card's state.
 */
import type { StoredRecord } from "../../runtime/log/log.ts";
import type { EntityModel } from "../../runtime/shard/entity-model.ts";
import { SOURCE_TOPIC_HEADER } from "../../runtime/shard/shard.ts";
import {
  applyTransaction,
  type CardState,
  initialCardState,
  updateCardState,
} from "./card-state.ts";
import {
  type Label,
  parseLabel,
  parseTransaction,
  type Transaction,
  transactionEntityKey,
} from "./schema.ts";
import { decodeCardState, encodeCardState } from "./state-codec.ts";

/** Default topic of card transactions, keyed by card. */
export const FRAUD_TRANSACTIONS_TOPIC = "fraud.transactions";
/** Default topic of delayed labels, keyed by card. */
export const FRAUD_LABELS_TOPIC = "fraud.labels";

/** What a fraud shard applies: a transaction, or the delayed label of one. */
export type FraudEvent = Transaction | Label;

/** True for a label (a decoded label has `labelTimeMs`, a transaction `timeMs`). */
export function isLabel(event: FraudEvent): event is Label {
  return (event as Label).labelTimeMs !== undefined;
}

export interface FraudEntityModelOptions {
  inputTopic?: string;
  /** Records re-keyed from this topic decode as labels. Without it, every record is a transaction. */
  labelsTopic?: string;
}

/**
 * The fraud entity model: decode validates a transaction (or a label, when the record came from
 * the labels topic), the key is `card_id` (or `user_id` for the original's producers; a label's
 * `card_id`), the update is the pure {@link updateCardState} for a transaction and the identity
 * for a label; the shard runs the same update in place ({@link applyTransaction}).
 *
 * @example const model = fraudEntityModel({ inputTopic: "fraud.transactions" });
 * @example const both = fraudEntityModel({ labelsTopic: "fraud.labels" }); // the shards' model
 */
export function fraudEntityModel(options?: {
  inputTopic?: string;
  labelsTopic?: undefined;
}): EntityModel<CardState, Transaction>;
export function fraudEntityModel(
  options: FraudEntityModelOptions & { labelsTopic: string },
): EntityModel<CardState, FraudEvent>;
export function fraudEntityModel(
  options: FraudEntityModelOptions = {},
): EntityModel<CardState, FraudEvent> {
  const labelsTopic = options.labelsTopic;
  return {
    name: "fraud",
    inputTopic: options.inputTopic ?? FRAUD_TRANSACTIONS_TOPIC,
    decode: (record: StoredRecord, topic: string): FraudEvent =>
      labelsTopic !== undefined && (record.headers[SOURCE_TOPIC_HEADER] ?? topic) === labelsTopic
        ? parseLabel(record.value)
        : parseTransaction(record.value),
    key: (event) => (isLabel(event) ? event.card_id : transactionEntityKey(event)),
    initial: () => initialCardState(),
    update: (state, event) => (isLabel(event) ? state : updateCardState(state, event)),
    // The same update without its copy (the shard's hot path; see EntityModel.updateInPlace).
    updateInPlace: (state, event) => (isLabel(event) ? state : applyTransaction(state, event)),
    encodeState: encodeCardState,
    decodeState: decodeCardState,
  };
}
