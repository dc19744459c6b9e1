#!/usr/bin/env python3
"""Writes the external HLO oracle corpus read by tests/hlo/oracle_test.cc.

For every case below: jax.jit(f).lower(*args) gives XLA's HLO module BEFORE optimisation
(`<name>.hlo`, metadata stripped) and XLA CPU runs the jitted function on the inputs; the inputs and
XLA's outputs go to `<name>.lit`, one line per value:

    arg <shape> <hex of the row-major little-endian bytes>
    out <shape> <hex ...>          (tuple results: one `out` line per leaf, in order)

<shape> is an HLO array shape without layout (`f32[2,3]`, `pred[]`). The test needs no Python.
For the cases in LONG_FORM, `<name>.full.hlo` is the same module in XLA's long form
(as_hlo_module().to_string(): %names, metadata, the FileNames/StackFrames tables; file paths are
cut to their base name); the test checks that it parses to the same module as `<name>.hlo`.

Regenerate (from the repository root; needs `pip install jax`):
    python3 tests/hlo/oracle/generate.py            # rewrites tests/hlo/oracle/cases/
"""
import os
import re
import shutil
import sys

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax
import ml_dtypes

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
rng = np.random.default_rng(20261127)

BF16 = ml_dtypes.bfloat16
DTYPE_NAMES = {
    np.dtype(np.bool_): "pred", np.dtype(np.int8): "s8", np.dtype(np.uint8): "u8",
    np.dtype(np.int16): "s16", np.dtype(np.uint16): "u16", np.dtype(np.int32): "s32",
    np.dtype(np.uint32): "u32", np.dtype(np.int64): "s64", np.dtype(np.uint64): "u64",
    np.dtype(np.float16): "f16", np.dtype(BF16): "bf16", np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
}


def f32(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def ints(dtype, *shape, lo=None, hi=None):
    info = np.iinfo(dtype)
    lo = info.min if lo is None else lo
    hi = info.max if hi is None else hi
    return rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64).astype(dtype)


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.75, 1e-30, -1e30, np.inf, -np.inf, np.nan],
                   dtype=np.float32)


def special_f32(n_extra=12):
    return np.concatenate([SPECIAL, f32(n_extra, lo=-4, hi=4)])


def shape_text(a):
    a = np.asarray(a)
    return "%s[%s]" % (DTYPE_NAMES[a.dtype], ",".join(str(d) for d in a.shape))


def strip_hlo(text):
    """Removes metadata={...} (quote- and brace-aware) and trailing spaces."""
    out = []
    i = 0
    key = ", metadata={"
    while True:
        j = text.find(key, i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k = j + len(key)
        depth = 1
        while depth > 0:
            c = text[k]
            if c == '"':
                k += 1
                while text[k] != '"':
                    k += 2 if text[k] == "\\" else 1
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            k += 1
        i = k
    text = "".join(out)
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    if "source_file" in text or os.path.dirname(os.path.abspath(__file__)) in text:
        raise RuntimeError("source paths left in the HLO text")
    return text


def sanitize_long_form(text):
    """Cuts quoted absolute file paths to their base name."""
    text = re.sub(r'"(/[^"]*)"', lambda m: '"%s"' % os.path.basename(m.group(1)), text)
    if os.path.dirname(os.path.abspath(__file__)) in text or "site-packages" in text:
        raise RuntimeError("source paths left in the long-form HLO text")
    return text


CASES = []
LONG_FORM = {"reduce_argmax", "gather_2d_points", "scatter_add_duplicates", "sort_multi_operand",
             "while_tuple_state", "switch_three", "conv_feature_groups", "select_and_scatter_padded",
             "rng_uniform_f32", "many_outputs", "tuple_outputs", "pad_negative", "compare_all_f32",
             "sharding_custom_call", "cumsum", "dot_general_multi_contract"}


def case(name, fn, *args):
    CASES.append((name, fn, args))


def write_case(name, fn, args):
    jitted = jax.jit(fn, keep_unused=True)
    lowered = jitted.lower(*args)
    hlo = strip_hlo(lowered.compiler_ir("hlo").as_hlo_text())
    outs = jax.tree_util.tree_leaves(jitted(*args))
    with open(os.path.join(OUT_DIR, name + ".hlo"), "w") as f:
        f.write(hlo)
    if name in LONG_FORM:
        with open(os.path.join(OUT_DIR, name + ".full.hlo"), "w") as f:
            f.write(sanitize_long_form(lowered.compiler_ir("hlo").as_hlo_module().to_string()))
    with open(os.path.join(OUT_DIR, name + ".lit"), "w") as f:
        for a in args:
            a = np.asarray(a)
            f.write("arg %s %s\n" % (shape_text(a), a.tobytes().hex()))
        for o in outs:
            o = np.asarray(o)
            f.write("out %s %s\n" % (shape_text(o), o.tobytes().hex()))


# ----------------------------------------------------------------------------------------------
# Elementwise unary, f32 with special values (0, -0, inf, nan, tiny, huge).
X = special_f32()
POS = f32(16, lo=0.01, hi=5)
for nm, fn in [
    ("abs", jnp.abs), ("ceil", jnp.ceil), ("floor", jnp.floor), ("round_even", jnp.round),
    ("round_afz", lambda x: lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO)),
    ("cos", jnp.cos), ("sin", jnp.sin), ("tan", jnp.tan), ("tanh", jnp.tanh), ("exp", jnp.exp),
    ("expm1", jnp.expm1), ("log", jnp.log), ("log1p", jnp.log1p),
    ("logistic", jax.nn.sigmoid), ("negate", jnp.negative), ("rsqrt", lax.rsqrt),
    ("sqrt", jnp.sqrt), ("cbrt", jnp.cbrt), ("sign", jnp.sign), ("erf", lax.erf),
    ("is_finite", jnp.isfinite), ("square", jnp.square), ("reciprocal", jnp.reciprocal),
    ("exp2", jnp.exp2), ("log2", jnp.log2), ("log10", jnp.log10),
]:
    case("unary_" + nm + "_f32", fn, X)
# Decomposed by JAX into several HLO ops (chlo decompositions); moderate ranges.
M = f32(16, lo=-0.95, hi=0.95)
for nm, fn in [("asin", jnp.arcsin), ("acos", jnp.arccos), ("atan", jnp.arctan),
               ("sinh", jnp.sinh), ("cosh", jnp.cosh), ("asinh", jnp.arcsinh),
               ("atanh", jnp.arctanh), ("erf_inv", lax.erf_inv), ("erfc", lax.erfc)]:
    case("unary_" + nm + "_f32", fn, M)
case("unary_lgamma_f32", lax.lgamma, POS)
case("unary_digamma_f32", lax.digamma, POS)
case("unary_relu_f32", jax.nn.relu, X)
case("unary_gelu_f32", lambda x: jax.nn.gelu(x, approximate=False), f32(16, lo=-4, hi=4))
case("unary_gelu_tanh_f32", lambda x: jax.nn.gelu(x, approximate=True), f32(16, lo=-4, hi=4))
case("unary_softplus_f32", jax.nn.softplus, f32(16, lo=-20, hi=20))
case("unary_rank0_f32", lambda x: jnp.exp(x) * x, np.float32(1.5))
case("unary_zero_elements_f32", lambda x: jnp.tanh(x) + 1, np.zeros((0, 3), np.float32))

# f16 / bf16 elementwise (XLA and the interpreter both compute in f32 and round).
H = f32(16, lo=-3, hi=3)
for dt, tn in [(np.float16, "f16"), (BF16, "bf16")]:
    case("unary_exp_" + tn, jnp.exp, H.astype(dt))
    case("unary_tanh_" + tn, jnp.tanh, H.astype(dt))
    case("unary_sqrt_" + tn, jnp.sqrt, np.abs(H).astype(dt))
    case("binary_add_mul_" + tn, lambda x, y: x * y + x, H.astype(dt), f32(16).astype(dt))
    case("binary_div_" + tn, lambda x, y: x / y, H.astype(dt), f32(16, lo=0.5, hi=3).astype(dt))
    case("compare_lt_" + tn, lambda x, y: x < y, H.astype(dt), f32(16).astype(dt))

# Integer unary.
for dt, tn in [(np.int8, "s8"), (np.int32, "s32"), (np.uint8, "u8"), (np.uint32, "u32"),
               (np.int16, "s16"), (np.uint16, "u16")]:
    info = np.iinfo(dt)
    v = np.concatenate([np.array([0, 1, info.max, info.min], dtype=dt), ints(dt, 12)])
    case("int_not_" + tn, jnp.invert, v)
    case("int_popcnt_" + tn, lax.population_count, v)
    case("int_clz_" + tn, lax.clz, v)
    if info.min < 0:
        case("int_abs_neg_sign_" + tn, lambda x: (jnp.abs(x), -x, jnp.sign(x)), v)

# Elementwise binary f32, including special values against each other.
A = np.repeat(SPECIAL, len(SPECIAL))
B = np.tile(SPECIAL, len(SPECIAL))
for nm, fn in [("add", jnp.add), ("subtract", jnp.subtract), ("multiply", jnp.multiply),
               ("divide", lax.div), ("remainder", lax.rem), ("maximum", jnp.maximum),
               ("minimum", jnp.minimum), ("power", lax.pow), ("atan2", jnp.arctan2),
               ("nextafter", jnp.nextafter), ("copysign", jnp.copysign),
               ("hypot", jnp.hypot), ("fmod", jnp.fmod), ("mod_floor", jnp.mod)]:
    case("binary_" + nm + "_f32", fn, A, B)
case("binary_power_random_f32", lax.pow, f32(16, lo=0.1, hi=4), f32(16, lo=-3, hi=3))
case("binary_broadcast_f32", lambda x, y: x + y[:, None] * 2.0, f32(3, 4), f32(3))
case("binary_scalar_rank0_f32", lambda x, y: x * y - 1, np.float32(3), np.float32(-0.25))

# Integer binary: wrap-around, division by zero, INT_MIN / -1, shifts out of range.
for dt, tn in [(np.int32, "s32"), (np.uint32, "u32"), (np.int8, "s8"), (np.uint8, "u8"),
               (np.int16, "s16")]:
    info = np.iinfo(dt)
    edge = [0, 1, 2, 7, info.max, info.min]
    if info.min < 0:
        edge += [-1, -7]
    edge = np.array(edge, dtype=np.int64).astype(dt)
    x = np.repeat(edge, len(edge))
    y = np.tile(edge, len(edge))
    case("int_add_sub_mul_" + tn, lambda a, b: (a + b, a - b, a * b), x, y)
    case("int_div_rem_" + tn, lambda a, b: (lax.div(a, b), lax.rem(a, b)), x, y)
    case("int_max_min_" + tn, lambda a, b: (jnp.maximum(a, b), jnp.minimum(a, b)), x, y)
    case("int_bitwise_" + tn, lambda a, b: (a & b, a | b, a ^ b), x, y)
    bits = info.bits
    amounts = np.array([0, 1, 3, bits - 1, bits, bits + 1, 100] +
                       ([-1] if info.min < 0 else [info.max]), dtype=np.int64).astype(dt)
    xs = np.repeat(edge, len(amounts))
    ys = np.tile(amounts, len(edge))
    case("int_shifts_" + tn, lambda a, b: (lax.shift_left(a, b), lax.shift_right_arithmetic(a, b),
                                          lax.shift_right_logical(a, b)), xs, ys)
case("int_floor_divide_s32", lambda a, b: (a // b, a % b), ints(np.int32, 16, lo=-50, hi=50),
     np.array([3, -3, 7, -7, 1, 2, -1, 5] * 2, np.int32))
case("int_integer_pow_s32", lambda a: (lax.integer_pow(a, 3), lax.integer_pow(a, 0)),
     ints(np.int32, 10, lo=-2000, hi=2000))
case("pred_logic", lambda a, b: (a & b, a | b, a ^ b, ~a),
     np.array([True, True, False, False]), np.array([True, False, True, False]))

# Compare (all directions), select, clamp.
for dt, tn, xa, xb in [(np.float32, "f32", A, B),
                       (np.int32, "s32", np.repeat(np.array([-5, 0, 3, 2**31 - 1], np.int32), 4),
                        np.tile(np.array([-5, 0, 3, -2**31], np.int32), 4)),
                       (np.uint32, "u32", np.repeat(np.array([0, 1, 2**31, 2**32 - 1], np.uint32), 4),
                        np.tile(np.array([0, 2**31, 1, 7], np.uint32), 4))]:
    case("compare_all_" + tn, lambda a, b: (a == b, a != b, a < b, a <= b, a > b, a >= b), xa, xb)
case("compare_pred", lambda a, b: (a == b, a < b),
     np.array([True, True, False, False]), np.array([True, False, True, False]))
case("select_f32", lambda p, a, b: jnp.where(p, a, b), rng.random(12) < 0.5, f32(12), f32(12))
case("select_scalar_pred", lambda p, a, b: lax.select(jnp.broadcast_to(p, a.shape), a, b),
     np.bool_(True), ints(np.int32, 2, 3), ints(np.int32, 2, 3))
case("clamp_f32", lambda x: lax.clamp(np.float32(-0.5), x, np.float32(0.75)), X)
case("clamp_array_s32", lambda lo, x, hi: lax.clamp(lo, x, hi), ints(np.int32, 8, lo=-10, hi=0),
     ints(np.int32, 8, lo=-20, hi=20), ints(np.int32, 8, lo=0, hi=10))
case("clip_jnp_f32", lambda x: jnp.clip(x, -1, 1), X)

# Data movement.
case("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1,)), f32(3))
case("broadcast_scalar_s32", lambda x: jnp.broadcast_to(x, (2, 3)), np.int32(7))
case("broadcast_degenerate", lambda x: jnp.broadcast_to(x, (3, 2, 4)), f32(3, 1, 4))
case("reshape", lambda x: x.reshape(4, 3, 2), f32(2, 12))
case("reshape_rank0", lambda x: x.reshape(()), f32(1, 1))
case("transpose", lambda x: jnp.transpose(x, (2, 0, 1)), f32(2, 3, 4))
case("slice_strided", lambda x: x[1:5:2, ::3], f32(6, 7))
case("slice_zero_size", lambda x: x[2:2, :], f32(4, 3))
case("dynamic_slice", lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)), f32(5, 6),
     np.int32(1), np.int32(2))
case("dynamic_slice_clamped", lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)), f32(5, 6),
     np.int32(9), np.int32(-4))
case("dynamic_update_slice", lambda x, u, i: lax.dynamic_update_slice(x, u, (i, np.int32(1))),
     f32(4, 5), f32(2, 3), np.int32(1))
case("dynamic_update_slice_clamped",
     lambda x, u, i: lax.dynamic_update_slice(x, u, (i, np.int32(-3))),
     ints(np.int32, 4, 5), ints(np.int32, 2, 3), np.int32(7))
case("dynamic_index_jnp", lambda x, i: x[i], f32(5, 3), np.int32(-2))
case("concatenate", lambda a, b, c: jnp.concatenate([a, b, c], axis=1), f32(2, 1), f32(2, 3),
     f32(2, 0))
case("concatenate_pred", lambda a, b: jnp.concatenate([a, b]), rng.random(3) < 0.5,
     rng.random(4) < 0.5)
case("pad_interior", lambda x: lax.pad(x, np.float32(-1), ((1, 2, 1), (0, 0, 2))), f32(3, 2))
case("pad_negative", lambda x: lax.pad(x, np.float32(9), ((-1, 2, 0), (1, -2, 1))), f32(4, 5))
case("pad_s32_negative_interior", lambda x: lax.pad(x, np.int32(0), ((-2, -1, 3),)),
     ints(np.int32, 5))
case("rev", lambda x: lax.rev(x, (0, 2)), f32(2, 3, 4))
case("flip_jnp", lambda x: jnp.flip(x), ints(np.int8, 7))
case("iota_s32", lambda: lax.iota(np.int32, 7))
case("iota_2d_f32", lambda: lax.broadcasted_iota(np.float32, (3, 4), 1))
case("iota_u8_bf16", lambda: (lax.iota(np.uint8, 5), lax.broadcasted_iota(BF16, (2, 3), 0)))
case("arange_linspace", lambda: (jnp.arange(2, 20, 3), jnp.linspace(0, 1, 7, dtype=np.float32)))
case("eye_tri", lambda: (jnp.eye(4, dtype=np.float32), jnp.tril(jnp.ones((3, 3), np.int32))))

# Type conversions.
CONV_IN = np.array([0.0, -0.0, 0.4, -0.6, 1.5, 2.5, -2.5, 127.9, 128.5, -129.2, 300.7, 1e10, -1e10,
                    np.inf, -np.inf, np.nan], np.float32)
case("convert_f32_to_s32", lambda x: x.astype(np.int32), CONV_IN)
case("convert_f32_to_s8_u8", lambda x: (x.astype(np.int8), x.astype(np.uint8)), CONV_IN)
case("convert_f32_to_u32", lambda x: x.astype(np.uint32), CONV_IN)
case("convert_f32_to_f16_bf16", lambda x: (x.astype(np.float16), x.astype(BF16)),
     np.concatenate([CONV_IN, np.array([65504, 65520, 1e-8, 3.0e38, 1.00390625], np.float32)]))
case("convert_f16_bf16_to_f32", lambda a, b: (a.astype(np.float32), b.astype(np.float32)),
     f32(8).astype(np.float16), f32(8).astype(BF16))
case("convert_ints", lambda x: (x.astype(np.int8), x.astype(np.uint16), x.astype(np.float32),
                                x.astype(np.bool_)),
     np.array([0, 1, -1, 255, 256, -129, 70000, 2**31 - 1, -2**31], np.int32))
case("convert_u32_to_f32", lambda x: x.astype(np.float32),
     np.array([0, 1, 2**31, 2**32 - 1, 16777217], np.uint32))
case("convert_pred", lambda p, x: (p.astype(np.float32), p.astype(np.int32), x.astype(np.bool_)),
     np.array([True, False, True]), np.array([0.0, -0.0, np.nan], np.float32))
case("bitcast_convert_f32_s32", lambda x: (lax.bitcast_convert_type(x, np.int32),
                                           lax.bitcast_convert_type(x, np.uint32)), X)
case("bitcast_convert_narrow", lambda x: lax.bitcast_convert_type(x, np.uint8), f32(2, 3))
case("bitcast_convert_wide", lambda x: lax.bitcast_convert_type(x, np.float32),
     ints(np.uint16, 3, 2))
case("bitcast_convert_bf16", lambda x: lax.bitcast_convert_type(x, np.int16), f32(5).astype(BF16))
case("reduce_precision_f16", lambda x: lax.reduce_precision(x, 5, 10),
     np.concatenate([X, np.array([65520, 1e-6, 3e-8, 1.00048828125, 1.000732421875], np.float32)]))
case("reduce_precision_bf16", lambda x: lax.reduce_precision(x, 8, 7),
     np.concatenate([X, np.array([1.00390625, 1.01171875, 3.4e38], np.float32)]))
case("reduce_precision_e4m3", lambda x: lax.reduce_precision(x, 4, 3), f32(16, lo=-300, hi=300))

# dot_general.
case("dot_matmul", jnp.matmul, f32(3, 5), f32(5, 4))
case("dot_vector", jnp.dot, f32(7), f32(7))
case("dot_matvec", jnp.dot, f32(4, 6), f32(6))
case("dot_batched", lambda a, b: jnp.einsum("bij,bjk->bik", a, b), f32(2, 3, 4), f32(2, 4, 5))
case("dot_general_multi_contract",
     lambda a, b: lax.dot_general(a, b, (((1, 3), (2, 0)), ((0,), (1,)))), f32(2, 3, 4, 2),
     f32(2, 2, 3, 5))
case("dot_outer", lambda a, b: jnp.einsum("i,j->ij", a, b), f32(3), f32(4))
case("dot_s32", jnp.matmul, ints(np.int32, 3, 4, lo=-100, hi=100), ints(np.int32, 4, 2, lo=-100, hi=100))
case("dot_s8_preferred_s32", lambda a, b: lax.dot(a, b, preferred_element_type=np.int32),
     ints(np.int8, 2, 5), ints(np.int8, 5, 3))
case("dot_bf16_preferred_f32", lambda a, b: lax.dot(a, b, preferred_element_type=np.float32),
     f32(3, 4).astype(BF16), f32(4, 2).astype(BF16))
case("dot_f16", jnp.matmul, f32(2, 3).astype(np.float16), f32(3, 2).astype(np.float16))
case("dot_zero_contract", jnp.matmul, f32(2, 0), f32(0, 3))

# Convolutions.
def conv(lhs, rhs, **kw):
    return lax.conv_general_dilated(lhs, rhs, **kw)


case("conv_1d", lambda x, w: conv(x, w, window_strides=(1,), padding="VALID"), f32(1, 2, 7),
     f32(3, 2, 3))
case("conv_2d_same_stride", lambda x, w: conv(x, w, window_strides=(2, 1), padding="SAME"),
     f32(2, 3, 6, 5), f32(4, 3, 3, 2))
case("conv_2d_explicit_pad", lambda x, w: conv(x, w, window_strides=(1, 1),
                                              padding=((1, 2), (0, 1))), f32(1, 2, 4, 4),
     f32(2, 2, 2, 3))
case("conv_lhs_dilation", lambda x, w: conv(x, w, window_strides=(1, 1), padding=((1, 1), (1, 1)),
                                           lhs_dilation=(2, 2)), f32(1, 1, 3, 3), f32(2, 1, 2, 2))
case("conv_rhs_dilation", lambda x, w: conv(x, w, window_strides=(1, 1), padding="VALID",
                                           rhs_dilation=(2, 1)), f32(1, 2, 7, 5), f32(3, 2, 2, 2))
case("conv_feature_groups", lambda x, w: conv(x, w, window_strides=(1, 1), padding="SAME",
                                             feature_group_count=2), f32(1, 4, 5, 5),
     f32(6, 2, 3, 3))
case("conv_depthwise_nhwc",
     lambda x, w: conv(x, w, window_strides=(1, 1), padding="SAME", feature_group_count=3,
                       dimension_numbers=("NHWC", "HWIO", "NHWC")), f32(1, 5, 4, 3),
     f32(3, 3, 1, 3))
case("conv_batch_groups", lambda x, w: conv(x, w, window_strides=(1,), padding="VALID",
                                           batch_group_count=2), f32(4, 3, 6), f32(4, 3, 2))
case("conv_nhwc_hwio", lambda x, w: conv(x, w, window_strides=(2, 2), padding="SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC")),
     f32(2, 6, 6, 3), f32(3, 3, 3, 4))
case("conv_transpose", lambda x, w: lax.conv_transpose(x, w, strides=(2, 2), padding="SAME",
                                                       dimension_numbers=("NCHW", "OIHW", "NCHW")),
     f32(1, 2, 3, 3), f32(3, 2, 3, 3))
case("conv_3d", lambda x, w: conv(x, w, window_strides=(1, 2, 1), padding="SAME"),
     f32(1, 2, 3, 4, 3), f32(2, 2, 2, 2, 2))
case("conv_grad_weights", lambda x, w: jax.grad(
    lambda w_: jnp.sum(conv(x, w_, window_strides=(2, 2), padding="SAME") ** 2))(w),
     f32(2, 2, 5, 5), f32(3, 2, 3, 3))
case("conv_s32", lambda x, w: conv(x, w, window_strides=(1,), padding="SAME"),
     ints(np.int32, 1, 2, 6, lo=-9, hi=9), ints(np.int32, 2, 2, 3, lo=-9, hi=9))
case("conv_bf16_preferred_f32",
     lambda x, w: conv(x, w, window_strides=(1, 1), padding="VALID",
                       preferred_element_type=np.float32),
     f32(1, 2, 4, 4).astype(BF16), f32(2, 2, 2, 2).astype(BF16))

# Reductions.
R = f32(3, 4, 5)
case("reduce_sum", lambda x: jnp.sum(x, axis=(0, 2)), R)
case("reduce_max_min", lambda x: (jnp.max(x, axis=1), jnp.min(x, axis=0)), R)
case("reduce_prod", lambda x: jnp.prod(x, axis=1), f32(3, 4, lo=0.5, hi=1.5))
case("reduce_all_any", lambda p: (jnp.all(p, axis=1), jnp.any(p, axis=0)), rng.random((4, 3)) < 0.6)
case("reduce_sum_s32_overflow", lambda x: jnp.sum(x, axis=0, dtype=np.int32),
     np.array([[2**31 - 1, 5], [10, -2**31], [7, -3]], np.int32))
case("reduce_sum_u8", lambda x: jnp.sum(x, dtype=np.uint8), ints(np.uint8, 9))
case("reduce_argmax", lambda x: jnp.argmax(x, axis=1), f32(4, 6))
case("reduce_argmin_nan", lambda x: (jnp.argmin(x, axis=0), jnp.argmax(x, axis=0)),
     np.array([[1, np.nan, 2], [0, 3, np.nan], [-1, 3, 5]], np.float32))
case("reduce_variadic_lax", lambda x, y: lax.reduce(
    (x, y), (np.float32(0), np.int32(0)), lambda a, b: (a[0] + b[0], jnp.maximum(a[1], b[1])), (1,)),
     f32(3, 4), ints(np.int32, 3, 4, lo=-50, hi=50))
case("reduce_empty", lambda x: (jnp.sum(x, axis=0), jnp.max(x, axis=0, initial=-5.0)), np.zeros((0, 3), np.float32))
case("reduce_rank0_result", lambda x: jnp.mean(x), f32(4, 4))
case("reduce_bf16", lambda x: jnp.sum(x, axis=1), f32(3, 8).astype(BF16))
case("logsumexp", lambda x: jax.nn.logsumexp(x, axis=-1), f32(3, 6, lo=-5, hi=5))
case("softmax", lambda x: jax.nn.softmax(x, axis=-1), f32(3, 6, lo=-5, hi=5))
case("layer_norm", lambda x, g, b: (x - x.mean(-1, keepdims=True)) /
     jnp.sqrt(x.var(-1, keepdims=True) + 1e-5) * g + b, f32(4, 8), f32(8), f32(8))
case("norm_l2", lambda x: jnp.linalg.norm(x, axis=0), f32(5, 3))

# Windows: reduce-window, cumulative ops, select-and-scatter (gradient of max pooling).
def maxpool(x, window, strides, padding):
    return lax.reduce_window(x, -np.inf, lax.max, window, strides, padding)


P = f32(1, 2, 6, 6)
case("reduce_window_maxpool", lambda x: maxpool(x, (1, 1, 2, 2), (1, 1, 2, 2), "VALID"), P)
case("reduce_window_maxpool_same", lambda x: maxpool(x, (1, 1, 3, 3), (1, 1, 2, 2), "SAME"), P)
case("reduce_window_avgpool", lambda x: lax.reduce_window(x, 0.0, lax.add, (1, 1, 3, 3),
                                                          (1, 1, 1, 1), "SAME") / 9.0, P)
case("reduce_window_dilations", lambda x: lax.reduce_window(
    x, 0.0, lax.add, (2, 2), (1, 2), ((1, 0), (2, 1)), base_dilation=(2, 1),
    window_dilation=(1, 2)), f32(4, 5))
case("reduce_window_s32_min", lambda x: lax.reduce_window(x, np.int32(2**31 - 1), lax.min, (3,),
                                                          (2,), "VALID"), ints(np.int32, 9))
case("reduce_window_variadic", lambda x, y: lax.reduce_window(
    (x, y), (np.float32(-np.inf), np.int32(0)),
    lambda a, b: (jnp.maximum(a[0], b[0]), a[1] + b[1]), (2, 2), (1, 1), "VALID"),
     f32(3, 4), ints(np.int32, 3, 4, lo=0, hi=9))
case("cumsum", lambda x: jnp.cumsum(x, axis=1), f32(3, 6))
case("cumprod", lambda x: jnp.cumprod(x), f32(6, lo=0.5, hi=2))
case("cummax_s32", lambda x: lax.cummax(x, axis=0), ints(np.int32, 7, 2))
case("cumsum_reverse", lambda x: lax.cumsum(x, axis=0, reverse=True), f32(5))
case("cumlogsumexp", lambda x: lax.cumlogsumexp(x), f32(6))
case("select_and_scatter_maxpool_grad", lambda x: jax.grad(
    lambda x_: jnp.sum(maxpool(x_, (1, 1, 2, 2), (1, 1, 2, 2), "VALID") ** 2))(x), P)
case("select_and_scatter_overlapping", lambda x, g: jax.vjp(
    lambda x_: maxpool(x_, (3, 3), (1, 2), "SAME"), x)[1](g)[0], f32(5, 6), f32(5, 3))
case("select_and_scatter_padded", lambda x: jax.grad(
    lambda x_: jnp.sum(maxpool(x_, (2, 3), (2, 2), ((1, 0), (1, 1))) * 3.0))(x), f32(4, 5))
case("select_and_scatter_ties", lambda x: jax.grad(
    lambda x_: jnp.sum(maxpool(x_, (2,), (1,), "VALID")))(x),
     np.array([1, 1, 3, 3, 3, 0, 2, 2], np.float32))
case("minpool_grad", lambda x: jax.grad(lambda x_: jnp.sum(
    lax.reduce_window(x_, np.inf, lax.min, (2, 2), (1, 1), "VALID")))(x), f32(3, 4))

# Gather.
G = f32(5, 4)
case("gather_rows", lambda x, i: x[i], G, np.array([4, 0, 2, 2], np.int32))
case("gather_negative_index", lambda x, i: x[i], G, np.array([-1, -5, 3], np.int32))
case("gather_out_of_bounds_clamped", lambda x, i: jnp.take(x, i, axis=0, mode="clip"), G,
     np.array([7, -3, 1], np.int32))
case("gather_fill", lambda x, i: jnp.take(x, i, axis=1, mode="fill", fill_value=-7.0), G,
     np.array([0, 5, -9, 3], np.int32))
case("gather_2d_points", lambda x, i, j: x[i, j], G, np.array([0, 4, 2], np.int32),
     np.array([3, 0, 1], np.int32))
case("gather_columns", lambda x, i: x[:, i], G, np.array([[3, 1], [0, 0]], np.int32))
case("gather_take_along_axis", lambda x, i: jnp.take_along_axis(x, i, axis=1), G,
     ints(np.int32, 5, 3, lo=0, hi=3))
case("gather_slices_lax", lambda x, i: lax.gather(
    x, i, lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                     start_index_map=(0, 1)), slice_sizes=(1, 2),
    mode=lax.GatherScatterMode.CLIP), G, np.array([[1, 3], [4, 0], [0, 2]], np.int32))
case("gather_batched_vmap", jax.vmap(lambda x, i: x[i]), f32(3, 6), np.array([5, 0, 2], np.int32))
case("gather_s32_operand", lambda x, i: x[i], ints(np.int32, 6), np.array([[1, 2], [5, 0]], np.int32))
case("gather_batching_dims", lambda x, i: lax.gather(
    x, i, lax.GatherDimensionNumbers(offset_dims=(2,), collapsed_slice_dims=(1,),
                                     start_index_map=(1,), operand_batching_dims=(0,),
                                     start_indices_batching_dims=(0,)),
    slice_sizes=(1, 1, 3), mode=lax.GatherScatterMode.CLIP),
     f32(2, 5, 3), np.array([[[4], [1]], [[0], [2]]], np.int32))

# Scatter.
case("scatter_set", lambda x, i, u: x.at[i].set(u), G, np.array([3, 1], np.int32), f32(2, 4))
case("scatter_add_duplicates", lambda x, i, u: x.at[i].add(u), G, np.array([2, 2, 0, 2], np.int32),
     f32(4, 4))
case("scatter_mul", lambda x, i, u: x.at[i].multiply(u), f32(6), np.array([1, 4, 1], np.int32),
     f32(3))
case("scatter_min_max", lambda x, i, u: (x.at[i].min(u), x.at[i].max(u)), f32(6),
     np.array([0, 5, 0], np.int32), f32(3))
case("scatter_drop_out_of_bounds", lambda x, i, u: x.at[i].add(u, mode="drop"),
     ints(np.int32, 5), np.array([1, 9, -7, 4], np.int32), ints(np.int32, 4, lo=-100, hi=100))
case("scatter_2d_points", lambda x, i, j, u: x.at[i, j].add(u), G, np.array([0, 4, 0], np.int32),
     np.array([3, 1, 3], np.int32), f32(3))
case("scatter_column_window", lambda x, i, u: x.at[:, i].set(u), G, np.array([2, 0], np.int32),
     f32(5, 2))
case("scatter_lax_window", lambda x, i, u: lax.scatter_add(
    x, i, u, lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                         scatter_dims_to_operand_dims=(0, 1)),
    mode=lax.GatherScatterMode.CLIP), G, np.array([[1, 2], [4, 3], [0, 0]], np.int32), f32(3, 2))
case("scatter_batched_vmap", jax.vmap(lambda x, i, u: x.at[i].add(u)), f32(3, 5),
     np.array([[1, 1], [0, 4], [2, 3]], np.int32), f32(3, 2))
case("scatter_grad_of_gather", lambda x, i: jax.grad(lambda x_: jnp.sum(x_[i] ** 2))(x), G,
     np.array([1, 1, 3], np.int32))
case("segment_sum", lambda d, s: jax.ops.segment_sum(d, s, num_segments=4), f32(7, 2),
     np.array([0, 0, 1, 3, 3, 3, 2], np.int32))

# Sort.
case("sort_f32_nan", lambda x: jnp.sort(x), np.concatenate([X, X[:5]]))
case("sort_descending_s32", lambda x: -jnp.sort(-x, axis=0), ints(np.int32, 6, 3, lo=-99, hi=99))
case("argsort_stable", lambda x: jnp.argsort(x, stable=True), np.array([3, 1, 3, 0, 1, 2, 3], np.int32))
case("sort_multi_operand", lambda k, v, w: lax.sort((k, v, w), num_keys=1),
     np.array([2, 0, 2, 1, 0], np.int32), f32(5), ints(np.uint8, 5))
case("sort_two_keys", lambda a, b: lax.sort((a, b), num_keys=2),
     np.array([1, 0, 1, 0, 1], np.int32), np.array([5, 4, 3, 2, 1], np.int32))
case("sort_2d_axis0_bf16", lambda x: jnp.sort(x, axis=0), f32(4, 3).astype(BF16))
case("top_k_via_sort", lambda x: jnp.sort(x)[..., -3:], f32(2, 6))

# Control flow: while, conditional, call, tuples.
case("while_fori", lambda x: lax.fori_loop(0, 5, lambda i, c: c * 1.5 + i, x), f32(3))
case("while_tuple_state", lambda n, x: lax.while_loop(
    lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] * 2 - 1, s[2] + s[1].sum()),
    (np.int32(0), x, np.float32(0))), np.int32(4), f32(3))
case("while_zero_trips", lambda x: lax.while_loop(lambda s: s > 100, lambda s: s + 1, x),
     np.int32(5))
case("scan_cumulative", lambda x: lax.scan(lambda c, v: (c + v, c * v), np.float32(0), x), f32(6))
case("cond_pred", lambda p, x: lax.cond(p, lambda v: v * 2, lambda v: v - 1, x), np.bool_(False),
     f32(4))
case("cond_pred_true", lambda p, x: lax.cond(p, lambda v: jnp.sin(v), lambda v: v - 1, x),
     np.bool_(True), f32(4))
case("switch_three", lambda i, x: lax.switch(i, [lambda v: v + 1, lambda v: v * v,
                                                  lambda v: -v], x), np.int32(1), f32(4))
case("switch_out_of_range", lambda i, x: lax.switch(i, [lambda v: v + 1, lambda v: v * v,
                                                         lambda v: -v], x), np.int32(17), f32(4))
case("call_nested_jit", lambda x, y: jax.jit(lambda a, b: a * b + 1)(x, y) * 2, f32(3), f32(3))
case("tuple_outputs", lambda x: (x + 1, (x.sum(), x.astype(np.int32))), f32(2, 2))
case("many_outputs", lambda x: tuple(x * k for k in range(7)), f32(2))
case("many_inputs", lambda *xs: sum(xs), *[f32(2) for _ in range(7)])
case("vmap_while", jax.vmap(lambda x: lax.while_loop(lambda v: v < 10, lambda v: v * 2, x)),
     np.array([1, 3, 11, 0.5], np.float32))

# Random bits: the rbg PRNG implementation lowers to rng-bit-generator (Philox on XLA CPU).
KEY = np.asarray(jax.random.key_data(jax.random.key(42, impl="rbg")))
KEY2 = np.asarray(jax.random.key_data(jax.random.key(7, impl="rbg")))


def rbg(kd):
    return jax.random.wrap_key_data(kd, impl="rbg")


case("rng_bits_u32", lambda k: jax.random.bits(rbg(k), (5,)), KEY)
case("rng_bits_u32_2d", lambda k: jax.random.bits(rbg(k), (3, 7)), KEY2)
case("rng_bits_u8_u16", lambda k: (jax.random.bits(rbg(k), (6,), np.uint8),
                                   jax.random.bits(rbg(k), (5,), np.uint16)), KEY)
case("rng_uniform_f32", lambda k: jax.random.uniform(rbg(k), (2, 4)), KEY)
KEY_U64 = np.asarray(KEY).view(np.uint64)  # The u64[2] state rng-bit-generator takes.
case("rng_threefry_u32_odd", lambda k: lax.rng_bit_generator(
    k, (3, 5), np.uint32, algorithm=lax.RandomAlgorithm.RNG_THREE_FRY), KEY)
case("rng_threefry_u32_even_rank0", lambda k: (
    lax.rng_bit_generator(k, (3, 4), np.uint32, algorithm=lax.RandomAlgorithm.RNG_THREE_FRY),
    lax.rng_bit_generator(k, (), np.uint32, algorithm=lax.RandomAlgorithm.RNG_THREE_FRY)), KEY2)
case("rng_threefry_u16", lambda k: lax.rng_bit_generator(
    k, (7,), np.uint16, algorithm=lax.RandomAlgorithm.RNG_THREE_FRY), KEY)
case("rng_philox_explicit", lambda k: lax.rng_bit_generator(
    k, (2, 3), np.uint32, algorithm=lax.RandomAlgorithm.RNG_PHILOX), KEY2)
case("rng_from_seed", lambda seed: jax.random.bits(jax.random.key(seed, impl="rbg"), (6,)),
     np.int32(1234))
case("sharding_custom_call", lambda x: jax.lax.with_sharding_constraint(
    x * 2, jax.sharding.SingleDeviceSharding(jax.devices()[0])) + 1, f32(3))
case("rng_normal_split", lambda k: jax.random.normal(jax.random.split(rbg(k))[1], (6,)), KEY2)

# Small models and mixed programs.
case("mlp", lambda x, w1, b1, w2: jnp.tanh(x @ w1 + b1) @ w2, f32(4, 6), f32(6, 8), f32(8),
     f32(8, 3))
case("mlp_grad", lambda x, w: jax.grad(lambda w_: jnp.sum(jax.nn.relu(x @ w_) ** 2))(w), f32(4, 5),
     f32(5, 3))
case("attention", lambda q, k, v: jax.nn.softmax(q @ k.T / 2.0, axis=-1) @ v, f32(4, 8), f32(6, 8),
     f32(6, 8))
case("cnn_block", lambda x, w: maxpool(jax.nn.relu(conv(x, w, window_strides=(1, 1),
                                                        padding="SAME")), (1, 1, 2, 2),
                                       (1, 1, 2, 2), "VALID"), f32(1, 2, 6, 6), f32(3, 2, 3, 3))
case("one_hot_cross_entropy", lambda logits, y: -jnp.sum(
    jax.nn.log_softmax(logits) * jax.nn.one_hot(y, 5), axis=-1), f32(3, 5), np.array([0, 4, 2], np.int32))
case("where_nan_to_num", lambda x: jnp.nan_to_num(x), X)
case("isnan_isinf", lambda x: (jnp.isnan(x), jnp.isinf(x), jnp.signbit(x)), X)
case("mixed_int_float", lambda i, x: (i * 3 + 1).astype(np.float32) * x, ints(np.int32, 5, lo=-9, hi=9),
     f32(5))
case("polyval", lambda x: jnp.polyval(jnp.array([1.0, -2.0, 0.5, 3.0], np.float32), x), f32(6))
case("zero_elements_everywhere", lambda x, y: (x @ y, jnp.concatenate([x, x]), jnp.sort(x, axis=0)),
     np.zeros((0, 2), np.float32), np.zeros((2, 3), np.float32))
case("rank0_everything", lambda a, b: (jnp.where(a > b, a, b), lax.clamp(b, a, b + 1),
                                        a.astype(np.int32)), np.float32(2.5), np.float32(-1.0))

# 64-bit types (jax_enable_x64 for these cases only).
X64_CASES = []


def case64(name, fn, *args):
    X64_CASES.append((name, fn, args))


case64("x64_f64_elementwise", lambda x: (jnp.exp(x), jnp.sqrt(jnp.abs(x)), x * 3.0 - 1.0),
       rng.uniform(-3, 3, 8).astype(np.float64))
case64("x64_s64_arith", lambda a, b: (a + b, a * b, lax.div(a, b), lax.rem(a, b),
                                       lax.shift_right_logical(a, np.int64(3))),
       np.array([2**62, -2**63, 5, -7, 0, 2**63 - 1], np.int64),
       np.array([3, -1, 0, 2, 9, 2], np.int64))
case64("x64_u64_convert", lambda a: (a.astype(np.float64), a.astype(np.uint32), a >> np.uint64(60)),
       np.array([0, 1, 2**63, 2**64 - 1, 12345678901234], np.uint64))
case64("x64_f64_dot_reduce", lambda a, b: (a @ b, jnp.sum(a, axis=0)), rng.uniform(-1, 1, (3, 4)),
       rng.uniform(-1, 1, (4, 2)))
case64("x64_rng_threefry_u64", lambda k: lax.rng_bit_generator(
    k, (3,), np.uint64, algorithm=lax.RandomAlgorithm.RNG_THREE_FRY), KEY)
case64("x64_rng_state_u64", lambda k: lax.rng_bit_generator(k, (2, 2), np.uint32), KEY_U64)
case64("x64_rng_bits_u64", lambda k: jax.random.bits(rbg(k), (5,), np.uint64), KEY)


def main():
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    os.makedirs(OUT_DIR)
    names = set()
    failed = []
    for group, enable64 in ((CASES, False), (X64_CASES, True)):
        jax.config.update("jax_enable_x64", enable64)
        for name, fn, args in group:
            assert name not in names, name
            names.add(name)
            try:
                write_case(name, fn, args)
            except Exception as e:  # Report every failing case, then fail.
                failed.append("%s: %s" % (name, str(e).splitlines()[0]))
    for f in failed:
        print("FAILED", f)
    if failed:
        sys.exit(1)
    missing = LONG_FORM - names
    if missing:
        print("LONG_FORM names no case:", sorted(missing))
        sys.exit(1)
    print("wrote %d cases to %s" % (len(names), OUT_DIR))


if __name__ == "__main__":
    main()
