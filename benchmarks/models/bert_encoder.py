#!/usr/bin/env python3
"""Writes a BERT-base-shaped encoder stack (random weights) as ONNX, for compile-time measurements.

Usage: bert_encoder.py OUT.onnx [--hidden 768] [--heads 12] [--seq 128] [--layers 2] [--seed 0]
Input "x" f32[1, seq, hidden]; output "y", same shape. Each layer: self-attention (Q/K/V MatMul+Add,
Reshape/Transpose to heads, scaled QK^T, Softmax, context, output projection), residual, LayerNorm
(decomposed: ReduceMean, Sub, Mul, Sqrt, Div), FFN with erf-GELU (4*hidden), residual, LayerNorm.
Opset 13. The file is not committed (a 2-layer base model is ~56 MB); generate it when needed.
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    h, nh, s = a.hidden, a.heads, a.seq
    dh = h // nh
    rng = np.random.default_rng(a.seed)
    nodes, inits = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(op, ins, name, **attrs):
        nodes.append(helper.make_node(op, ins, [name], name=name, **attrs))
        return name

    def weight(name, shape):
        return const(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    def linear(x, name, n_in, n_out):
        y = node("MatMul", [x, weight(name + "_w", (n_in, n_out))], name + "_mm")
        return node("Add", [y, weight(name + "_b", (n_out,))], name + "_add")

    def layer_norm(x, name):
        mean = node("ReduceMean", [x], name + "_mean", axes=[-1])
        d = node("Sub", [x, mean], name + "_d")
        var = node("ReduceMean", [node("Mul", [d, d], name + "_sq")], name + "_var", axes=[-1])
        std = node("Sqrt", [node("Add", [var, const(name + "_eps", np.float32(1e-12))], name + "_ve")], name + "_std")
        y = node("Div", [d, std], name + "_n")
        y = node("Mul", [y, const(name + "_g", np.ones(h, np.float32))], name + "_scaled")
        return node("Add", [y, const(name + "_beta", np.zeros(h, np.float32))], name + "_out")

    heads_shape = const("heads_shape", np.array([1, s, nh, dh], np.int64))
    flat_shape = const("flat_shape", np.array([1, s, h], np.int64))
    x = "x"
    for i in range(a.layers):
        n = f"l{i}"
        q, k, v = (linear(x, f"{n}_{t}", h, h) for t in "qkv")
        q = node("Transpose", [node("Reshape", [q, heads_shape], n + "_qr")], n + "_qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [k, heads_shape], n + "_kr")], n + "_kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [v, heads_shape], n + "_vr")], n + "_vt", perm=[0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], n + "_qk"), const(n + "_scale", np.float32(dh ** -0.5))],
                      n + "_scores")
        probs = node("Softmax", [scores], n + "_probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], n + "_ctx")], n + "_ctxt", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, flat_shape], n + "_ctxr")
        x = layer_norm(node("Add", [linear(ctx, n + "_o", h, h), x], n + "_res1"), n + "_ln1")
        f = linear(x, n + "_ff1", h, 4 * h)
        gelu = node("Mul", [node("Mul", [f, node("Add", [node("Erf", [node("Mul", [f, const(n + "_rs2", np.float32(
            2 ** -0.5))], n + "_fs")], n + "_erf"), const(n + "_one", np.float32(1))], n + "_erf1")], n + "_fe"),
                             const(n + "_half", np.float32(0.5))], n + "_gelu")
        x = layer_norm(node("Add", [linear(gelu, n + "_ff2", 4 * h, h), x], n + "_res2"), n + "_ln2")
    nodes.append(helper.make_node("Identity", [x], ["y"], name="y"))
    graph = helper.make_graph(nodes, "bert_encoder",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, s, h])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, s, h])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, a.out)


if __name__ == "__main__":
    main()
