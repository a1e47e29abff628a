/**
 * A GBT as an ONNX graph:
 *
 *   features (float32 [N, F]) ─Cast→ float64 ─TreeEnsembleRegressor (ai.onnx.ml v3)→ margin [N, 1]
 *     ─Cast→ float64 ─Sigmoid→ ─Cast→ probability (float32 [N, 1])   (binary)
 *     ─Cast→ prediction (float32 [N, 1])                               (regression)
 *
 * Why a regressor and a Sigmoid rather than TreeEnsembleClassifier with post_transform LOGISTIC:
 * the classifier's binary case with a single set of leaf weights is under-specified (onnxruntime's
 * own code says "ONNX is vague about two classes and only one base_values") and it returns a label
 * plus a two-column score tensor; the regressor's SUM of leaf values plus base_values is exactly
 * the GBT margin, and Sigmoid is exactly the link. It also serves regression unchanged.
 *
 * Why float64 inside: onnxruntime runs TreeEnsembleRegressor in the type of its input, so a double
 * input makes it compare and sum in double, like the TypeScript predictor. The Cast from float32
 * is exact, so routing is the same as on the float32 input: `x < threshold` (BRANCH_LT) with
 * thresholds that are float32 values.
 *
 * Why the margin is cast to float64 before the Sigmoid: the regressor's output is float32 whatever
 * its input (the operator's spec), and onnxruntime's float32 Sigmoid is accurate to ~6e-8 in
 * absolute terms, not relative ones. A fraud model gives most transactions probabilities below
 * 1e-6, which would come out as a few hundred distinct multiples of 2^-24 (some exactly 0): every
 * score under one tie, the ranking among them lost, and the score's drift bins (placed on the
 * TypeScript model's float64 scores) off by a PSI of ~0.7 on the very rows they were placed on.
 * In float64 the Sigmoid keeps the margin's relative precision, and the final Cast to float32 loses
 * only float32's own ~6e-8 relative.
 */
import type { GbtModel } from "../trainers/gbt.ts";
import { INPUT_NAME } from "./metadata.ts";
import type { GraphSpec, NodeSpec } from "./onnx-proto.ts";

export const ML_DOMAIN = "ai.onnx.ml";

/** The output tensor's name for a task. */
export function outputName(task: "binary" | "regression"): string {
  return task === "binary" ? "probability" : "prediction";
}

export function gbtGraph(model: GbtModel): GraphSpec {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTracksTrue: number[] = [];
  const hitrates: number[] = [];
  const targetTreeIds: number[] = [];
  const targetNodeIds: number[] = [];
  const targetWeights: number[] = [];
  // A model with no trees still needs one: a single leaf worth 0.
  const trees = model.trees.length
    ? model.trees
    : [
        {
          feature: [-1],
          threshold: [0],
          left: [-1],
          right: [-1],
          defaultLeft: [false],
          leafValue: [0],
          cover: [1],
        },
      ];
  trees.forEach((t, tree) => {
    // Node ids are the array positions: ONNX wants them to start at 0 and increase by 1.
    for (let k = 0; k < t.feature.length; k++) {
      const f = t.feature[k] as number;
      treeIds.push(tree);
      nodeIds.push(k);
      hitrates.push(t.cover[k] as number);
      if (f < 0) {
        featureIds.push(0);
        modes.push("LEAF");
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        missingTracksTrue.push(0);
        targetTreeIds.push(tree);
        targetNodeIds.push(k);
        targetWeights.push(t.leafValue[k] as number);
      } else {
        featureIds.push(f);
        // True branch = x < threshold = our left child; NaN follows it iff defaultLeft.
        modes.push("BRANCH_LT");
        values.push(t.threshold[k] as number);
        trueIds.push(t.left[k] as number);
        falseIds.push(t.right[k] as number);
        missingTracksTrue.push(t.defaultLeft[k] ? 1 : 0);
      }
    }
  });
  const out = outputName(model.task);
  const nodes: NodeSpec[] = [
    {
      opType: "Cast",
      name: "to_double",
      inputs: [INPUT_NAME],
      outputs: ["features_f64"],
      attributes: [{ name: "to", type: "int", value: 11 }],
    },
    {
      opType: "TreeEnsembleRegressor",
      domain: ML_DOMAIN,
      name: "trees",
      inputs: ["features_f64"],
      outputs: ["margin"],
      attributes: [
        { name: "n_targets", type: "int", value: 1 },
        { name: "aggregate_function", type: "string", value: "SUM" },
        { name: "post_transform", type: "string", value: "NONE" },
        {
          name: "base_values_as_tensor",
          type: "tensor",
          value: { name: "base_values", dataType: "double", dims: [1], values: [model.baseScore] },
        },
        { name: "nodes_treeids", type: "ints", value: treeIds },
        { name: "nodes_nodeids", type: "ints", value: nodeIds },
        { name: "nodes_featureids", type: "ints", value: featureIds },
        { name: "nodes_modes", type: "strings", value: modes },
        {
          name: "nodes_values_as_tensor",
          type: "tensor",
          value: { name: "nodes_values", dataType: "double", dims: [values.length], values },
        },
        { name: "nodes_truenodeids", type: "ints", value: trueIds },
        { name: "nodes_falsenodeids", type: "ints", value: falseIds },
        { name: "nodes_missing_value_tracks_true", type: "ints", value: missingTracksTrue },
        // The spec's node popularity, which onnxruntime ignores: the training rows that reached
        // each node, for explanations (models/explain).
        {
          name: "nodes_hitrates_as_tensor",
          type: "tensor",
          value: {
            name: "nodes_hitrates",
            dataType: "double",
            dims: [hitrates.length],
            values: hitrates,
          },
        },
        { name: "target_treeids", type: "ints", value: targetTreeIds },
        { name: "target_nodeids", type: "ints", value: targetNodeIds },
        { name: "target_ids", type: "ints", value: new Array(targetNodeIds.length).fill(0) },
        {
          name: "target_weights_as_tensor",
          type: "tensor",
          value: {
            name: "target_weights",
            dataType: "double",
            dims: [targetWeights.length],
            values: targetWeights,
          },
        },
      ],
    },
  ];
  if (model.task === "binary") {
    nodes.push(
      {
        opType: "Cast",
        name: "margin_to_double",
        inputs: ["margin"],
        outputs: ["margin_f64"],
        attributes: [{ name: "to", type: "int", value: 11 }],
      },
      { opType: "Sigmoid", name: "link", inputs: ["margin_f64"], outputs: ["probability_f64"] },
    );
  }
  nodes.push({
    opType: "Cast",
    name: "to_float",
    inputs: [model.task === "binary" ? "probability_f64" : "margin"],
    outputs: [out],
    attributes: [{ name: "to", type: "int", value: 1 }],
  });
  return {
    name: "coelho_gbt",
    nodes,
    initializers: [],
    inputs: [{ name: INPUT_NAME, elemType: "float", shape: ["N", model.featureNames.length] }],
    outputs: [{ name: out, elemType: "float", shape: ["N", 1] }],
  };
}
