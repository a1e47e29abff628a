/**
 * A logistic regression as plain ai.onnx operators, in float64 like the TypeScript predictor:
 *
 *   features (float32 [N, F]) ─Cast→ ─Sub mean→ ─Div std→ ─MatMul weights [F, 1]→ ─Add bias→
 *     ─Sigmoid→ ─Cast→ probability (float32 [N, 1])
 *
 * The standardisation stays explicit (not folded into the weights) so the graph shows the saved
 * statistics that serving applies.
 */
import type { LogisticModel } from "../trainers/logistic.ts";
import { INPUT_NAME } from "./metadata.ts";
import type { GraphSpec } from "./onnx-proto.ts";

export function logisticGraph(model: LogisticModel): GraphSpec {
  const d = model.featureNames.length;
  return {
    name: "coelho_logistic",
    nodes: [
      {
        opType: "Cast",
        name: "to_double",
        inputs: [INPUT_NAME],
        outputs: ["x"],
        attributes: [{ name: "to", type: "int", value: 11 }],
      },
      { opType: "Sub", name: "center", inputs: ["x", "mean"], outputs: ["centered"] },
      { opType: "Div", name: "scale", inputs: ["centered", "std"], outputs: ["standardized"] },
      { opType: "MatMul", name: "dot", inputs: ["standardized", "weights"], outputs: ["product"] },
      { opType: "Add", name: "intercept", inputs: ["product", "bias"], outputs: ["margin"] },
      { opType: "Sigmoid", name: "link", inputs: ["margin"], outputs: ["probability_f64"] },
      {
        opType: "Cast",
        name: "to_float",
        inputs: ["probability_f64"],
        outputs: ["probability"],
        attributes: [{ name: "to", type: "int", value: 1 }],
      },
    ],
    initializers: [
      { name: "mean", dataType: "double", dims: [d], values: model.mean },
      { name: "std", dataType: "double", dims: [d], values: model.std },
      { name: "weights", dataType: "double", dims: [d, 1], values: model.weights },
      { name: "bias", dataType: "double", dims: [1], values: [model.bias] },
    ],
    inputs: [{ name: INPUT_NAME, elemType: "float", shape: ["N", d] }],
    outputs: [{ name: "probability", elemType: "float", shape: ["N", 1] }],
  };
}
