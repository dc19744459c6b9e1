// Rewrites of nodes from older ONNX opsets into the forms of the latest opset, which is what
// Kiln's op set implements (private to the ONNX importer).
#ifndef KILN_RUNTIME_IMPORT_ONNX_ONNX_LEGACY_H_
#define KILN_RUNTIME_IMPORT_ONNX_ONNX_LEGACY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kiln/runtime/graph.h"

namespace kiln::onnx_import {

struct UpgradeContext {
  // The model's opset version of the default ONNX domain.
  int64_t opset = 0;
  // Adds `value` as a new initializer whose name starts with `hint`; returns the name used.
  std::function<std::string(const std::string& hint, Tensor value)> add_constant;
  // The declared element type of a value (from graph inputs, value_info, outputs or
  // initializers); DType::kInvalid when the model does not declare it.
  std::function<DType(const std::string& value)> value_dtype;
  // The rank of a graph input, output or initializer whose shape the model declares; -1 otherwise.
  std::function<int64_t(const std::string& value)> value_rank;
  // The value of an initializer; nullptr for anything else.
  std::function<const Tensor*(const std::string& value)> constant;
  // Adds a node of `op` reading `inputs`, with one output, before the node being upgraded; its name
  // starts with `hint`. Returns the output's name. Unset: rewrites that need a node are Unimplemented.
  std::function<std::string(const std::string& hint, const std::string& op, std::vector<std::string> inputs)>
      add_node;
};

// Rewrites `node` (attributes already converted, op type as in the model) in place:
//   - every node: the legacy `consumed_inputs` attribute is dropped;
//   - Dropout -> Identity (inference), unless its mask output is used or it has a training_mode
//     input;
//   - BatchNormalization: `spatial` and `is_test` dropped;
//   - Clip (opset < 11): `min`/`max` attributes -> inputs 1 and 2;
//   - Reshape (opset < 5): `shape` attribute -> input 1;
//   - Softmax, LogSoftmax, Hardmax (opset < 13): `coerce_2d` = 1 and `axis` defaulting to 1;
//   - Squeeze, Unsqueeze, ReduceSum (opset < 13) and the other Reduce* ops (opset < 18): `axes`
//     attribute -> input 1;
//   - Split: `split` attribute (opset < 13) -> input 1; `num_outputs` set when neither is given;
//   - Pad (opset < 11): `pads` (`paddings`) and `value` attributes -> inputs 1 and 2;
//   - Slice (opset < 10): `starts`, `ends`, `axes` attributes -> inputs 1, 2, 3;
//   - TopK (opset < 10): `k` attribute -> input 1;
//   - Concat (opset < 4): `axis` defaulting to 1;
//   - Cast (opset < 6): a string `to` -> the ONNX DataType number;
//   - Scatter -> ScatterElements; Upsample -> Resize (asymmetric coordinates, nearest rounding
//     down, `scales` attribute of opset 7 -> input 2);
//   - binary elementwise ops (opset < 7): `broadcast` dropped (numpy broadcasting gives the same
//     result unless `axis` is set); with `axis`, B gets trailing 1s so that numpy broadcasting aligns
//     it at `axis`: a constant B is reshaped, another B of declared rank goes through an added
//     Unsqueeze (A's rank must be declared; Unimplemented otherwise);
//     Gemm (opset < 7): `broadcast` dropped;
//   - PRelu (opset < 7): a constant per-channel slope [C] for an input of declared rank r >= 3
//     becomes [C, 1, ...] (r - 1 dims), since the slope then applied along axis 1.
// Errors name the node; InvalidArgument for a malformed attribute.
absl::Status UpgradeNode(Node* node, const UpgradeContext& ctx);

}  // namespace kiln::onnx_import

#endif  // KILN_RUNTIME_IMPORT_ONNX_ONNX_LEGACY_H_
