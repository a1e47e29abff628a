/**
 * The card-fraud use case as the runtime sees it: an {@link EntityModel} whose entity is the card.
 * Scoring hooks in through the shard's observer, computing features from the `before` state.
 */
import type { StoredRecord } from "../../runtime/log/log.ts";
import type { EntityModel } from "../../runtime/shard/entity-model.ts";
import { type CardState, initialCardState, updateCardState } from "./card-state.ts";
import { parseTransaction, type Transaction, transactionEntityKey } from "./schema.ts";
import { decodeCardState, encodeCardState } from "./state-codec.ts";

/** Default topic of card transactions, keyed by card. */
export const FRAUD_TRANSACTIONS_TOPIC = "fraud.transactions";
/** Default topic of delayed labels, keyed by card. */
export const FRAUD_LABELS_TOPIC = "fraud.labels";

export interface FraudEntityModelOptions {
  inputTopic?: string;
}

/**
 * The fraud entity model: decode validates a transaction, the key is `card_id` (or `user_id` for
 * the original's producers), the update is the pure {@link updateCardState}.
 *
 * @example const model = fraudEntityModel({ inputTopic: "fraud.transactions" });
 */
export function fraudEntityModel(
  options: FraudEntityModelOptions = {},
): EntityModel<CardState, Transaction> {
  return {
    name: "fraud",
    inputTopic: options.inputTopic ?? FRAUD_TRANSACTIONS_TOPIC,
    decode: (record: StoredRecord) => parseTransaction(record.value),
    key: transactionEntityKey,
    initial: () => initialCardState(),
    update: updateCardState,
    encodeState: encodeCardState,
    decodeState: decodeCardState,
  };
}
