#!/usr/bin/env python3
"""Writes the frozen TensorFlow graphs of tf_graphdef_test.cc with their inputs and TensorFlow's outputs.

Each case is data/<case>.pb (a GraphDef of Placeholders, Consts and ops), data/<case>.in<N>.npy and
data/<case>.out<N>.npy; data/cases.txt lists them, one case a line:
    <case> in <placeholder> <file> ... out <tensor> <file> ...
Needs `pip install tensorflow-cpu numpy` (run from any directory). The outputs are TensorFlow's
(CPU kernels) except for FusedDepthwiseConv2dNative, an op only TensorFlow.js implements: its case
is computed by TensorFlow as DepthwiseConv2dNative + BiasAdd + activation and then rewritten into
the fused node.
"""
import os

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
tf1.disable_eager_execution()
raw = tf.raw_ops
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
rng = np.random.default_rng(20261127)
cases = []


def f32(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def const(value, name):
    return tf1.constant(value, name=name)


def run(graph_def, feeds, fetches):
    g = tf1.Graph()
    with g.as_default():
        tf1.import_graph_def(graph_def, name="")
    with tf1.Session(graph=g) as sess:
        return sess.run([f if ":" in f else f + ":0" for f in fetches],
                        {k + ":0": v for k, v in feeds.items()})


def save(name, graph_def, feeds, fetches, reference_graph_def=None):
    """Runs `reference_graph_def` (default: graph_def) and writes the case."""
    outs = run(reference_graph_def or graph_def, feeds, fetches)
    with open(os.path.join(DATA, name + ".pb"), "wb") as f:
        f.write(graph_def.SerializeToString())
    line = [name, "in"]
    for i, (k, v) in enumerate(feeds.items()):
        fn = f"{name}.in{i}.npy"
        np.save(os.path.join(DATA, fn), v)
        line += [k, fn]
    line.append("out")
    for i, (k, v) in enumerate(zip(fetches, outs)):
        v = np.asarray(v)
        if v.dtype == np.int64:
            v = v.astype(np.int32)
        if v.dtype == np.bool_:
            v = v.astype(np.uint8)
        fn = f"{name}.out{i}.npy"
        np.save(os.path.join(DATA, fn), v)
        line += [k, fn]
    cases.append(" ".join(line))


def build(fn):
    g = tf1.Graph()
    with g.as_default():
        fetches = fn()
    return g.as_graph_def(), fetches


# --- Convolutions (NHWC) -------------------------------------------------------------------------
def conv():
    x = tf1.placeholder(tf.float32, [None, 9, 9, 3], name="x")
    w = const(f32(3, 3, 3, 4), "w")
    b = const(f32(4), "b")
    c1 = raw.Conv2D(input=x, filter=w, strides=[1, 2, 2, 1], padding="SAME", name="conv_same_s2")
    r1 = raw.Relu(features=raw.BiasAdd(value=c1, bias=b), name="bias_relu")
    c2 = raw.Conv2D(input=x, filter=const(f32(2, 3, 3, 5), "w2"), strides=[1, 1, 1, 1], padding="VALID",
                    dilations=[1, 2, 2, 1], name="conv_valid_dil")
    c3 = raw.Conv2D(input=x, filter=const(f32(3, 3, 3, 2), "w3"), strides=[1, 2, 1, 1], padding="EXPLICIT",
                    explicit_paddings=[0, 0, 1, 2, 0, 1, 0, 0], name="conv_explicit")
    d1 = raw.DepthwiseConv2dNative(input=x, filter=const(f32(3, 3, 3, 2), "dw"), strides=[1, 1, 1, 1],
                                   padding="SAME", name="depthwise_m2")
    d2 = raw.DepthwiseConv2dNative(input=r1, filter=const(f32(3, 3, 4, 1), "dw2"), strides=[1, 2, 2, 1],
                                   padding="VALID", name="depthwise_s2")
    # Grouped convolution: 4 input channels, filter of 2 input channels -> 2 groups.
    c4 = raw.Conv2D(input=r1, filter=const(f32(1, 1, 2, 6), "wg"), strides=[1, 1, 1, 1], padding="SAME",
                    name="conv_grouped")
    return ["bias_relu", "conv_valid_dil", "conv_explicit", "depthwise_m2", "depthwise_s2", "conv_grouped"]


gd, fetches = build(conv)
save("conv", gd, {"x": f32(2, 9, 9, 3)}, fetches)


# --- Fused convolutions and matmuls (Grappler's _Fused* nodes, built by rewriting the GraphDef) ----
def fused():
    x = tf1.placeholder(tf.float32, [1, 8, 8, 3], name="x")
    m = tf1.placeholder(tf.float32, [3, 5], name="m")
    for act in ["Relu", "Relu6", "Elu", "LeakyRelu", "None"]:
        raw.Conv2D(input=x, filter=const(f32(3, 3, 3, 4), f"w_{act}"), strides=[1, 1, 1, 1], padding="SAME",
                   name=f"fused_{act}")
        const(f32(4), f"b_{act}")
    raw.Conv2D(input=x, filter=const(f32(1, 1, 3, 4), "w_bn"), strides=[1, 2, 2, 1], padding="VALID", name="fused_bn")
    for k in ["scale", "offset", "mean"]:
        const(f32(4), f"bn_{k}")
    const(f32(4, lo=0.5, hi=2.0), "bn_var")
    raw.Conv2D(input=x, filter=const(f32(3, 3, 3, 4), "w_add"), strides=[1, 1, 1, 1], padding="SAME", name="fused_add")
    const(f32(4), "b_add")
    const(f32(1, 8, 8, 4), "addend")
    raw.MatMul(a=m, b=const(f32(4, 5), "mw"), transpose_b=True, name="fused_matmul")
    const(f32(4), "mb")
    return []


def rewrite_fused(gd):
    out = tf1.GraphDef()
    out.CopyFrom(gd)
    for n in out.node:
        if n.name.startswith("fused_") and n.op == "Conv2D":
            act = n.name[len("fused_"):]
            n.op = "_FusedConv2D"
            if act == "bn":
                n.input.extend(["bn_scale", "bn_offset", "bn_mean", "bn_var"])
                ops, args = [b"FusedBatchNorm", b"Relu"], 4
                n.attr["epsilon"].f = 0.001
            elif act == "add":
                n.input.extend(["b_add", "addend"])
                ops, args = [b"BiasAdd", b"Add", b"Relu"], 2
            else:
                n.input.append(f"b_{act}")
                ops, args = [b"BiasAdd"] + ([act.encode()] if act != "None" else []), 1
                if act == "LeakyRelu":
                    n.attr["leakyrelu_alpha"].f = 0.1
            n.attr["fused_ops"].list.s.extend(ops)
            n.attr["num_args"].i = args
            n.attr["TArgs"].list.type.extend([tf.float32.as_datatype_enum] * args)
        if n.name == "fused_matmul":
            n.op = "_FusedMatMul"
            n.input.append("mb")
            n.attr["fused_ops"].list.s.extend([b"BiasAdd", b"Relu"])
            n.attr["num_args"].i = 1
            n.attr["TArgs"].list.type.extend([tf.float32.as_datatype_enum])
    return out


gd, _ = build(fused)
gd = rewrite_fused(gd)
save("fused", gd, {"x": f32(1, 8, 8, 3), "m": f32(3, 5)},
     ["fused_Relu", "fused_Relu6", "fused_Elu", "fused_LeakyRelu", "fused_None", "fused_bn", "fused_add",
      "fused_matmul"])


# FusedDepthwiseConv2dNative (TensorFlow.js only): reference from the unfused ops.
def depthwise_unfused():
    x = tf1.placeholder(tf.float32, [1, 7, 7, 4], name="x")
    d = raw.DepthwiseConv2dNative(input=x, filter=const(f32(3, 3, 4, 1), "dw"), strides=[1, 2, 2, 1],
                                  padding="SAME", name="dw_conv")
    bias = raw.BiasAdd(value=d, bias=const(f32(4), "dw_b"), name="dw_bias")
    raw.Relu6(features=bias, name="dw_fused")
    return ["dw_fused"]


gd, fetches = build(depthwise_unfused)
fused_gd = tf1.GraphDef()
for n in gd.node:
    if n.name in ("dw_bias",):
        continue
    m = fused_gd.node.add()
    m.CopyFrom(n)
    if n.name == "dw_conv":
        m.name = "dw_fused"
        m.op = "FusedDepthwiseConv2dNative"
        m.input.append("dw_b")
        m.attr["fused_ops"].list.s.extend([b"BiasAdd", b"Relu6"])
        m.attr["num_args"].i = 1
    if n.name == "dw_fused":
        fused_gd.node.pop()
save("fused_depthwise", fused_gd, {"x": f32(1, 7, 7, 4)}, fetches, reference_graph_def=gd)


# --- Matrix products ------------------------------------------------------------------------------
def matmul():
    a = tf1.placeholder(tf.float32, [3, 4], name="a")
    bt = tf1.placeholder(tf.float32, [2, 3, 5, 4], name="bt")
    raw.MatMul(a=a, b=const(f32(4, 6), "w"), name="mm")
    raw.MatMul(a=const(f32(4, 3), "at"), b=const(f32(6, 4), "wt"), transpose_a=True, transpose_b=True, name="mm_tt")
    raw.BatchMatMulV2(x=bt, y=const(f32(5, 3), "y"), adj_x=True, name="bmm_adjx")
    raw.BatchMatMulV2(x=bt, y=const(f32(3, 6, 4), "y2"), adj_y=True, name="bmm_adjy")
    return ["mm", "mm_tt", "bmm_adjx", "bmm_adjy"]


gd, fetches = build(matmul)
save("matmul", gd, {"a": f32(3, 4), "bt": f32(2, 3, 5, 4)}, fetches)


# --- Elementwise ----------------------------------------------------------------------------------
def elementwise():
    x = tf1.placeholder(tf.float32, [2, 3, 4], name="x")
    y = tf1.placeholder(tf.float32, [4], name="y")
    i = tf1.placeholder(tf.int32, [6], name="i")
    pos = raw.AddV2(x=raw.Abs(x=x), y=const(np.float32(0.5), "half"))
    outs = {
        "add": raw.Add(x=x, y=y), "addv2": raw.AddV2(x=x, y=y), "addn": raw.AddN(inputs=[x, x, x]),
        "sub": raw.Sub(x=x, y=y), "mul": raw.Mul(x=x, y=y), "realdiv": raw.RealDiv(x=x, y=pos),
        "maximum": raw.Maximum(x=x, y=y), "minimum": raw.Minimum(x=x, y=y), "square": raw.Square(x=x),
        "rsqrt": raw.Rsqrt(x=pos), "sqrt": raw.Sqrt(x=pos), "relu": raw.Relu(features=x * 8.0),
        "relu6": raw.Relu6(features=x * 8.0), "elu": raw.Elu(features=x), "leaky": raw.LeakyRelu(features=x, alpha=0.3),
        "sigmoid": raw.Sigmoid(x=x), "tanh": raw.Tanh(x=x), "softmax": raw.Softmax(logits=x),
        "sqdiff": raw.SquaredDifference(x=x, y=y), "floordiv_f": raw.FloorDiv(x=x * 5.0, y=pos),
        "floordiv_i": raw.FloorDiv(x=i, y=const(np.array([3, -3, 2, -2, 5, 4], np.int32), "idiv")),
        "floormod_i": raw.FloorMod(x=i, y=const(np.array([3, -3, 2, -2, 5, 4], np.int32), "imod")),
        "exp": raw.Exp(x=x), "neg": raw.Neg(x=x),
    }
    names = []
    for k, v in outs.items():
        raw.Identity(input=v, name="out_" + k)
        names.append("out_" + k)
    return names


gd, fetches = build(elementwise)
save("elementwise", gd, {"x": f32(2, 3, 4), "y": f32(4), "i": np.array([7, -7, 5, -5, -9, 0], np.int32)}, fetches)


# --- Pooling and padding --------------------------------------------------------------------------
def pool():
    x = tf1.placeholder(tf.float32, [1, 7, 8, 3], name="x")
    raw.MaxPool(input=x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME", name="max_same")
    raw.MaxPool(input=x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID", name="max_valid")
    raw.AvgPool(value=x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME", name="avg_same")
    raw.AvgPool(value=x, ksize=[1, 2, 3, 1], strides=[1, 1, 2, 1], padding="VALID", name="avg_valid")
    paddings = const(np.array([[0, 0], [1, 2], [2, 0], [0, 1]], np.int32), "paddings")
    raw.Pad(input=x, paddings=paddings, name="pad")
    raw.PadV2(input=x, paddings=paddings, constant_values=const(np.float32(-2.5), "pad_value"), name="padv2")
    raw.MirrorPad(input=x, paddings=paddings, mode="REFLECT", name="mirror_pad")
    return ["max_same", "max_valid", "avg_same", "avg_valid", "pad", "padv2", "mirror_pad"]


gd, fetches = build(pool)
save("pool", gd, {"x": f32(1, 7, 8, 3)}, fetches)


# --- Reductions -----------------------------------------------------------------------------------
def reduce():
    x = tf1.placeholder(tf.float32, [2, 3, 4, 5], name="x")
    raw.Mean(input=x, axis=const(np.array([1, 2], np.int32), "hw"), keep_dims=True, name="mean_keep")
    raw.Mean(input=x, axis=const(np.int32(-1), "last"), name="mean_last")
    raw.Sum(input=x, axis=const(np.array([0, 3], np.int32), "a03"), name="sum")
    raw.Max(input=x, axis=const(np.array([2], np.int32), "a2"), keep_dims=True, name="max")
    raw.ArgMax(input=x, dimension=const(np.int32(3), "a3"), output_type=tf.int32, name="argmax")
    raw.Cast(x=raw.ArgMax(input=x, dimension=const(np.int32(1), "a1")), DstT=tf.int32, name="argmax64")
    return ["mean_keep", "mean_last", "sum", "max", "argmax", "argmax64"]


gd, fetches = build(reduce)
save("reduce", gd, {"x": f32(2, 3, 4, 5)}, fetches)


# --- Shapes, slicing, gathering --------------------------------------------------------------------
def shape_ops():
    x = tf1.placeholder(tf.float32, [None, 4, 6], name="x")
    c = lambda v, n: const(np.array(v, np.int32), n)
    outs = {}
    outs["concat"] = raw.ConcatV2(values=[x, x * 2.0], axis=c(-1, "ax"))
    shape = raw.Shape(input=x)
    batch = raw.StridedSlice(input=shape, begin=c([0], "b0"), end=c([1], "e0"), strides=c([1], "s1"),
                             shrink_axis_mask=1)
    outs["reshape"] = raw.Reshape(tensor=x, shape=raw.Pack(values=[batch, c(-1, "m1"), c(3, "three")]))
    outs["shape"] = raw.Identity(input=shape)
    outs["squeeze"] = raw.Squeeze(input=raw.ExpandDims(input=x, axis=c(1, "one")), axis=[1])
    outs["expand"] = raw.ExpandDims(input=x, axis=c(-1, "neg1"))
    ss = lambda b, e, s, **kw: raw.StridedSlice(input=x, begin=c(b, f"sb{len(outs)}"), end=c(e, f"se{len(outs)}"),
                                                strides=c(s, f"st{len(outs)}"), **kw)
    outs["ss_basic"] = ss([0, 1, 0], [2, 3, 6], [1, 1, 2])
    outs["ss_masks"] = ss([1, 1, 5], [0, 3, 0], [1, 1, -2], begin_mask=1, end_mask=5)
    outs["ss_neg"] = ss([0, -1, -1], [0, -5, 0], [1, -1, -1], begin_mask=1, end_mask=5)
    outs["ss_shrink"] = ss([0, 2, 0], [0, 3, 0], [1, 1, 1], begin_mask=5, end_mask=5, shrink_axis_mask=2)
    outs["ss_ellipsis"] = ss([0, 1], [0, 4], [1, 1], ellipsis_mask=1)
    outs["ss_newaxis"] = ss([0, 0, 1, -1], [0, 0, 3, 0], [1, 1, 1, 1], new_axis_mask=2, begin_mask=1, end_mask=1,
                           shrink_axis_mask=8)
    outs["slice"] = raw.Slice(input=x, begin=c([0, 1, 2], "slb"), size=c([-1, 2, 3], "sls"))
    outs["pack"] = raw.Pack(values=[x, x + 1.0], axis=1)
    un = raw.Unpack(value=x, num=4, axis=1)
    outs["unpack0"] = un[0]
    outs["unpack3"] = un[3]
    outs["transpose"] = raw.Transpose(x=x, perm=c([2, 0, 1], "perm"))
    outs["cast"] = raw.Cast(x=x * 10.0, DstT=tf.int32)
    outs["fill"] = raw.Fill(dims=c([2, 3], "fdims"), value=const(np.float32(1.5), "fval"))
    outs["tile"] = raw.Tile(input=x, multiples=c([1, 2, 1], "mult"))
    outs["gather"] = raw.GatherV2(params=x, indices=c([[3, 0], [1, 1]], "gi"), axis=c(1, "gax"))
    outs["gathernd"] = raw.GatherNd(params=x, indices=c([[0, 1], [1, 3], [0, 0]], "gnd"))
    with tf1.control_dependencies([raw.NoOp(name="noop")]):
        outs["identity"] = raw.Identity(input=x)
    names = []
    for k, v in outs.items():
        raw.Identity(input=v, name="out_" + k)
        names.append("out_" + k)
    return names


gd, fetches = build(shape_ops)
save("shape_ops", gd, {"x": f32(2, 4, 6)}, fetches)


# --- Resizing -------------------------------------------------------------------------------------
def resize():
    x = tf1.placeholder(tf.float32, [1, 5, 7, 2], name="x")
    size = const(np.array([8, 4], np.int32), "size")
    names = []
    for op in ["ResizeBilinear", "ResizeNearestNeighbor"]:
        for mode, (ac, hp) in {"plain": (False, False), "align": (True, False), "half": (False, True)}.items():
            name = f"{op}_{mode}"
            getattr(raw, op)(images=x, size=size, align_corners=ac, half_pixel_centers=hp, name=name)
            names.append(name)
    return names


gd, fetches = build(resize)
save("resize", gd, {"x": f32(1, 5, 7, 2)}, fetches)

# --- Less common ops of the mapping table ----------------------------------------------------------
def more_ops():
    x = tf1.placeholder(tf.float32, [2, 3, 4], name="x")
    pos = raw.AddV2(x=raw.Abs(x=x), y=const(np.float32(0.5), "half"))
    c = lambda v, n: const(np.array(v, np.int32), n)
    outs = {
        "selu": raw.Selu(features=x), "softplus": raw.Softplus(features=x), "logsoftmax": raw.LogSoftmax(logits=x),
        "log": raw.Log(x=pos), "floor": raw.Floor(x=x * 3.0), "ceil": raw.Ceil(x=x * 3.0),
        "round": raw.Round(x=x * 3.0), "sign": raw.Sign(x=x), "erf": raw.Erf(x=x), "reciprocal": raw.Reciprocal(x=pos),
        "pow": raw.Pow(x=pos, y=const(np.float32(1.7), "p")), "floormod_f": raw.FloorMod(x=x * 5.0, y=pos),
        "min": raw.Min(input=x, axis=c([1], "a1")), "prod": raw.Prod(input=x, axis=c([2], "a2"), keep_dims=True),
        "argmin": raw.ArgMin(input=x, dimension=c(2, "a2s"), output_type=tf.int32),
        "range": raw.Range(start=const(np.float32(0.5), "r0"), limit=const(np.float32(4.0), "r1"),
                           delta=const(np.float32(0.75), "r2")),
        "select": raw.SelectV2(condition=raw.Greater(x=x, y=const(np.float32(0.0), "zero")), t=x, e=x * -2.0),
        "concat_v1": raw.Concat(concat_dim=c(1, "cd"), values=[x, x]),
        "bmm_v3": raw.BatchMatMulV3(x=x, y=const(f32(4, 2), "bw"), Tout=tf.float32),
        "gather_v2_neg": raw.GatherV2(params=x, indices=c([2, 0], "gi"), axis=c(-1, "gax")),
        "compare": raw.Cast(x=raw.LogicalOr(
            x=raw.LogicalAnd(x=raw.GreaterEqual(x=x, y=const(np.float32(-0.5), "lo")),
                             y=raw.LessEqual(x=x, y=const(np.float32(0.5), "hi"))),
            y=raw.LogicalNot(x=raw.NotEqual(x=raw.Less(x=x, y=const(np.float32(0.9), "l9")),
                                            y=raw.Equal(x=x, y=x)))), DstT=tf.float32),
    }
    names = []
    for k, v in outs.items():
        raw.Identity(input=v, name="out_" + k)
        names.append("out_" + k)
    return names


gd, fetches = build(more_ops)
save("more_ops", gd, {"x": f32(2, 3, 4)}, fetches)


# --- NCHW graphs (TensorFlow's CPU kernels run only NHWC: the reference is the NHWC graph between
# transposes, the saved graph is the NCHW one) ---------------------------------------------------
W_NCHW, B_NCHW, DW_NCHW = f32(3, 3, 3, 4), f32(4), f32(3, 3, 4, 1)
BN = [f32(4), f32(4), f32(4), f32(4, lo=0.5, hi=2.0)]


def layout_graph(nchw):
    x = tf1.placeholder(tf.float32, [1, 3, 8, 8] if nchw else [1, 8, 8, 3], name="x")
    fmt = "NCHW" if nchw else "NHWC"
    s = (lambda h, w: [1, 1, h, w]) if nchw else (lambda h, w: [1, h, w, 1])
    conv = raw.Conv2D(input=x, filter=const(W_NCHW, "w"), strides=s(2, 1), padding="SAME", data_format=fmt)
    bias = raw.BiasAdd(value=conv, bias=const(B_NCHW, "b"), data_format=fmt)
    bn = raw.FusedBatchNormV3(x=bias, scale=const(BN[0], "scale"), offset=const(BN[1], "offset"),
                              mean=const(BN[2], "mean"), variance=const(BN[3], "var"), epsilon=0.01,
                              data_format=fmt, is_training=False)[0]
    mp = raw.MaxPool(input=bn, ksize=s(2, 2), strides=s(2, 2), padding="VALID", data_format=fmt)
    ap = raw.AvgPool(value=bn, ksize=s(3, 3), strides=s(1, 1), padding="SAME", data_format=fmt)
    outs = {"conv": bias, "bn": bn, "maxpool": mp, "avgpool": ap}
    names = []
    for k, v in outs.items():
        if not nchw:
            v = raw.Transpose(x=v, perm=[0, 3, 1, 2])
        raw.Identity(input=v, name="out_" + k)
        names.append("out_" + k)
    return names


gd_nchw, fetches = build(lambda: layout_graph(True))
ref = tf1.Graph()
with ref.as_default():
    x = tf1.placeholder(tf.float32, [1, 3, 8, 8], name="x")
    tf1.import_graph_def(build(lambda: layout_graph(False))[0], input_map={"x:0": raw.Transpose(x=x, perm=[0, 2, 3, 1])},
                         name="ref")
    for name in fetches:
        raw.Identity(input=ref.get_tensor_by_name(f"ref/{name}:0"), name=name)
save("nchw", gd_nchw, {"x": f32(1, 3, 8, 8)}, fetches, reference_graph_def=ref.as_graph_def())


with open(os.path.join(DATA, "cases.txt"), "w") as f:
    f.write("\n".join(cases) + "\n")
print(f"wrote {len(cases)} cases to {DATA}")
