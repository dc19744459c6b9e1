#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/onnx (including the regress-extreme-* ones) and tests/fuzz/corpus/tfjs (needs the `onnx` and `numpy` pip
packages; the committed seeds were written with onnx 1.23). The other ONNX seeds are models of the
ONNX backend test suite (../shared/data/onnx-backend-tests/node/<test>/model.onnx, Apache-2.0).
The .kiln seeds are `kiln convert` of ONNX seeds (see docs/testing.md)."""
import json
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx")


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(here, name))


# A tiny conv net with initializers in raw_data and in typed fields, a shape initializer and
# a Constant node holding an f16 tensor.
rng = np.random.default_rng(0)
w = numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "w")
b = helper.make_tensor("b", TensorProto.FLOAT, [2], [0.5, -0.5])  # float_data, not raw_data.
shape = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")
half = helper.make_tensor("half", TensorProto.FLOAT16, [1], np.array([1.5], np.float16).view(np.uint16).tolist())
nodes = [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node("Relu", ["c"], ["r"], name="relu"),
    helper.make_node("Reshape", ["r", "shape"], ["flat"], name="reshape"),
    helper.make_node("Constant", [], ["k16"], name="k16", value=half),
    helper.make_node("Cast", ["k16"], ["k"], name="cast", to=TensorProto.FLOAT),
    helper.make_node("Mul", ["flat", "k"], ["y"], name="mul"),
]
graph = helper.make_graph(nodes, "tiny_conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, None])],
                          [w, b, shape])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), "tiny_conv_initializers.onnx")

# An old-opset model (the importer rewrites legacy attribute forms).
nodes = [helper.make_node("Clip", ["x"], ["y"], name="clip", min=-1.0, max=1.0),
         helper.make_node("Softmax", ["y"], ["z"], name="softmax", axis=1)]
graph = helper.make_graph(nodes, "legacy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)], ir_version=3), "legacy_opset6.onnx")


# TensorFlow.js graph models in tfjs_fuzzer's input form: model.json, a NUL byte, the weight shard.
tfjs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "tfjs")


def tfjs_seed(name, model, shard):
    with open(os.path.join(tfjs, name), "wb") as f:
        f.write(json.dumps(model, separators=(",", ":")).encode() + b"\0" + shard)


f32 = {"type": "DT_FLOAT"}


def tf_shape(*dims):
    return {"dim": [{"size": str(d)} for d in dims]}


nodes = [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": f32, "shape": {"shape": tf_shape(1, 4)}}},
    {"name": "w", "op": "Const", "attr": {"dtype": f32, "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": tf_shape(4, 2)}}}},
    {"name": "b", "op": "Const", "attr": {"dtype": f32, "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": tf_shape(2)}}}},
    {"name": "mm", "op": "MatMul", "input": ["x", "w"], "attr": {"T": f32, "transpose_a": {"b": False}, "transpose_b": {"b": False}}},
    {"name": "add", "op": "BiasAdd", "input": ["mm", "b"], "attr": {"T": f32, "data_format": {"s": "TkhXQw=="}}},
    {"name": "y", "op": "Relu", "input": ["add"], "attr": {"T": f32}},
]
model = {"format": "graph-model", "modelTopology": {"node": nodes},
         "signature": {"outputs": {"y:0": {"name": "y:0"}}},
         "weightsManifest": [{"paths": ["weights.bin"], "weights": [
             {"name": "w", "shape": [4, 2], "dtype": "float32"},
             {"name": "b", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.01}}]}]}
tfjs_seed("matmul_bias_relu", model, struct.pack("<8f", *[0.5, -1, 2, 0.25, 1, 1, -0.5, 3]) + bytes([100, 200]))
nodes = [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": f32, "shape": {"shape": tf_shape(2, 3)}}},
    {"name": "s", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}, "value": {"tensor": {"dtype": "DT_INT32", "tensorShape": tf_shape(2), "intVal": [3, 2]}}}},
    {"name": "r", "op": "Reshape", "input": ["x", "s"], "attr": {"T": f32, "Tshape": {"type": "DT_INT32"}}},
    {"name": "y", "op": "Sigmoid", "input": ["r"], "attr": {"T": f32}},
]
tfjs_seed("reshape_inline_const", {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": []}, b"")


# Constant inputs and attributes at the int64 / float extremes, one op each, all folded during shape
# inference (so the kernels run too): each once hit undefined behaviour under UBSan (overflow, a
# float-to-int cast out of range, division of INT64_MIN by -1 or by 0). See docs/testing.md.
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def extreme_seed(name, nodes, inits, rank, out_type=TensorProto.FLOAT, opset=18):
    graph = helper.make_graph(nodes, name, [], [helper.make_tensor_value_info("y", out_type, [None] * rank)], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), "regress-extreme-" + name + ".onnx")


def i64(name, values, dims=None):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)] if dims is None else dims, values)


def f32(name, values, dims=None):
    return helper.make_tensor(name, TensorProto.FLOAT, [len(values)] if dims is None else dims, values)


extreme_seed("tile-repeats", [helper.make_node("Tile", ["x", "r"], ["y"])], [f32("x", [1, 2]), i64("r", [2**62])], 1)
extreme_seed("pad-reflect-one-element", [helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")],
             [f32("x", [5]), i64("p", [1, -1])], 1)
extreme_seed("range-int64-line", [helper.make_node("Range", ["a", "b", "d"], ["y"])],
             [i64("a", [I64_MIN], []), i64("b", [I64_MAX], []), i64("d", [2**62], [])], 1, TensorProto.INT64)
extreme_seed("div-int64-min", [helper.make_node("Div", ["a", "b"], ["y"])], [i64("a", [I64_MIN]), i64("b", [-1])], 1,
             TensorProto.INT64)
extreme_seed("maxpool-ceil-stride", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[1], strides=[I64_MAX],
                                                      ceil_mode=1)],
             [f32("x", [1, 2, 3, 4, 5], [1, 1, 5])], 3)
extreme_seed("onehot-depth", [helper.make_node("OneHot", ["i", "d", "v"], ["y"])],
             [i64("i", [0, 1]), f32("d", [1e30], []), f32("v", [0, 1])], 2)
extreme_seed("resize-crop-roi", [helper.make_node("Resize", ["x", "roi", "", "s"], ["y"], mode="linear",
                                                  coordinate_transformation_mode="tf_crop_and_resize")],
             [f32("x", [1, 2, 3, 4], [1, 1, 2, 2]), f32("roi", [0, 0, -1e30, float("nan"), 1, 1, 1e30, float("nan")]),
              i64("s", [1, 1, 2, 2])], 4)
