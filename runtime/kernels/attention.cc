// Attention (ONNX opset 23/24): scaled dot-product attention over 3-D ([B, S, heads * size]) or
// 4-D ([B, heads, S, size]) Q, K, V, with an optional boolean or additive mask, past key/value
// caches, causal and sliding-window masks, grouped-query heads, softcap and the qk_matmul_output of
// modes 0-3; and RotaryEmbedding. Computed in double for every float type.
#include <cmath>
#include <limits>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct AttentionAttrs {
  int64_t is_causal = 0, q_num_heads = 0, kv_num_heads = 0, mode = 0;
  int64_t left_window = -1, right_window = -1;
  std::optional<float> scale;
  float softcap = 0;
};

absl::StatusOr<AttentionAttrs> ReadAttentionAttrs(const Node& node) {
  AttentionAttrs a;
  KILN_ASSIGN_OR_RETURN(a.is_causal, node.GetInt("is_causal", 0));
  KILN_ASSIGN_OR_RETURN(a.q_num_heads, node.GetInt("q_num_heads", 0));
  KILN_ASSIGN_OR_RETURN(a.kv_num_heads, node.GetInt("kv_num_heads", 0));
  KILN_ASSIGN_OR_RETURN(a.mode, node.GetInt("qk_matmul_output_mode", 0));
  KILN_ASSIGN_OR_RETURN(a.left_window, node.GetInt("left_window_size", -1));
  KILN_ASSIGN_OR_RETURN(a.right_window, node.GetInt("right_window_size", -1));
  KILN_ASSIGN_OR_RETURN(a.softcap, node.GetFloat("softcap", 0.0f));
  if (node.HasAttr("scale")) {
    KILN_ASSIGN_OR_RETURN(float s, node.GetFloat("scale"));
    a.scale = s;
  }
  if (a.mode < 0 || a.mode > 3) {
    return absl::InvalidArgumentError(
        kiln::StrCat("Attention node '", node.name, "': qk_matmul_output_mode ", a.mode, " is not 0-3"));
  }
  return a;
}

// The geometry of one Attention node.
struct Geometry {
  bool three_d = false;
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, kv_seq = 0, past = 0, head = 0, v_head = 0;
  int64_t total() const { return past + kv_seq; }
};

absl::StatusOr<Geometry> ComputeGeometry(const Node& node, const AttentionAttrs& a, const Dims& q, const Dims& k,
                                         const Dims& v, const Dims* past_key) {
  auto error = [&node](const std::string& m) {
    return absl::InvalidArgumentError(kiln::StrCat("Attention node '", node.name, "': ", m));
  };
  Geometry g;
  if (q.size() != k.size() || q.size() != v.size() || (q.size() != 3 && q.size() != 4)) {
    return error(kiln::StrCat("Q, K, V must all be 3-D or all 4-D; got ", DimsToString(q), ", ", DimsToString(k),
                              ", ", DimsToString(v)));
  }
  g.batch = q[0];
  if (q.size() == 3) {
    g.three_d = true;
    if (a.q_num_heads <= 0 || a.kv_num_heads <= 0) return error("3-D inputs need q_num_heads and kv_num_heads");
    if (a.q_num_heads > kMaxTensorElements || a.kv_num_heads > kMaxTensorElements) {
      return error(kiln::StrCat("q_num_heads ", a.q_num_heads, " and kv_num_heads ", a.kv_num_heads,
                                " must be at most ", kMaxTensorElements));
    }
    g.q_heads = a.q_num_heads;
    g.kv_heads = a.kv_num_heads;
    g.q_seq = q[1];
    g.kv_seq = k[1];
    if (q[2] % g.q_heads || k[2] % g.kv_heads || v[2] % g.kv_heads) {
      return error("hidden sizes must be multiples of the head counts");
    }
    g.head = q[2] / g.q_heads;
    if (k[2] / g.kv_heads != g.head) return error("Q and K head sizes differ");
    g.v_head = v[2] / g.kv_heads;
    if (v[1] != g.kv_seq) return error("K and V sequence lengths differ");
  } else {
    g.q_heads = q[1];
    g.kv_heads = k[1];
    g.q_seq = q[2];
    g.kv_seq = k[2];
    g.head = q[3];
    g.v_head = v[3];
    if (k[3] != g.head) return error("Q and K head sizes differ");
    if (v[1] != g.kv_heads || v[2] != g.kv_seq) return error("K and V heads or sequence lengths differ");
  }
  if (k[0] != g.batch || v[0] != g.batch) return error("Q, K, V batch sizes differ");
  if (g.kv_heads <= 0 || g.q_heads % g.kv_heads != 0) {
    return error(kiln::StrCat("q heads (", g.q_heads, ") must be a multiple of kv heads (", g.kv_heads, ")"));
  }
  if (past_key != nullptr) {
    const Dims& p = *past_key;
    if (p.size() != 4 || p[0] != g.batch || p[1] != g.kv_heads || p[3] != g.head) {
      return error(kiln::StrCat("past_key ", DimsToString(p), " must be [batch, kv_heads, past, head_size]"));
    }
    g.past = p[2];
  }
  return g;
}

absl::Status AttentionShapeFn(InferenceContext& ctx) {
  const TensorType& q = ctx.input(0);
  const TensorType& k = ctx.input(1);
  const TensorType& v = ctx.input(2);
  if (!IsAnyFloat(q.dtype) || k.dtype != q.dtype || v.dtype != q.dtype) {
    return ctx.Error(kiln::StrCat("Q, K, V must share one float type; got ", q.ToString(), ", ", k.ToString(), ", ",
                                  v.ToString()));
  }
  if (ctx.has_input(4) != ctx.has_input(5)) return ctx.Error("past_key and past_value must be given together");
  KILN_ASSIGN_OR_RETURN(AttentionAttrs a, ReadAttentionAttrs(ctx.node()));
  const int nout = static_cast<int>(ctx.node().outputs.size());
  auto unknown = [&]() {
    for (int i = 0; i < nout; ++i) ctx.set_output(i, TensorType{q.dtype, {}, false});
    return absl::OkStatus();
  };
  if (!q.fully_defined() || !k.fully_defined() || !v.fully_defined()) return unknown();
  const Dims* past = nullptr;
  if (ctx.has_input(4)) {
    if (!ctx.input(4).fully_defined()) return unknown();
    past = &ctx.input(4).dims;
  }
  absl::StatusOr<Geometry> g = ComputeGeometry(ctx.node(), a, q.dims, k.dims, v.dims, past);
  if (!g.ok()) return ctx.Error(FromAbsl(g.status().message()));
  Dims y = g->three_d ? Dims{g->batch, g->q_seq, SatMul(g->q_heads, g->v_head)}
                      : Dims{g->batch, g->q_heads, g->q_seq, g->v_head};
  ctx.set_output(0, TensorType{q.dtype, y});
  if (nout > 1) ctx.set_output(1, TensorType{q.dtype, {g->batch, g->kv_heads, g->total(), g->head}});
  if (nout > 2) ctx.set_output(2, TensorType{q.dtype, {g->batch, g->kv_heads, g->total(), g->v_head}});
  if (nout > 3) ctx.set_output(3, TensorType{q.dtype, {g->batch, g->q_heads, g->q_seq, g->total()}});
  return absl::OkStatus();
}

// Longer than 150 lines on purpose: the reference kernel follows the ONNX Attention definition step
// by step (inputs, past key/value, masks, scaled scores, softcap, softmax, output), in one place.
absl::Status AttentionCompute(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(AttentionAttrs a, ReadAttentionAttrs(ctx.node()));
  const Tensor& qt = ctx.input(0);
  const Tensor& kt = ctx.input(1);
  const Tensor& vt = ctx.input(2);
  const bool has_past = ctx.has_input(4) && ctx.has_input(5);
  const Dims past_dims = has_past ? ctx.input(4).dims() : Dims{};
  absl::StatusOr<Geometry> gs = ComputeGeometry(ctx.node(), a, qt.dims(), kt.dims(), vt.dims(), has_past ? &past_dims : nullptr);
  if (!gs.ok()) return ctx.Error(FromAbsl(gs.status().message()));
  const Geometry g = *gs;
  const int64_t B = g.batch, HQ = g.q_heads, HK = g.kv_heads, SQ = g.q_seq, SK = g.kv_seq, P = g.past, T = g.total();
  const int64_t D = g.head, DV = g.v_head;
  if (has_past && ctx.input(5).dims() != Dims{B, HK, P, DV}) {
    return ctx.Error(kiln::StrCat("past_value ", ctx.input(5).TypeString(), " must be [", B, ",", HK, ",", P, ",", DV, "]"));
  }
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {B, HQ, SQ, T}));
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {B, HQ, SQ, DV}));
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {B, HK, T, std::max(D, DV)}));
  const std::vector<double> qv = ReadDoubles(qt), kv = ReadDoubles(kt), vv = ReadDoubles(vt);
  // Q as [B, HQ, SQ, D]; present K as [B, HK, T, D], present V as [B, HK, T, DV].
  auto q_at = [&](int64_t b, int64_t h, int64_t s, int64_t d) {
    return g.three_d ? qv[(b * SQ + s) * HQ * D + h * D + d] : qv[((b * HQ + h) * SQ + s) * D + d];
  };
  std::vector<double> pk(B * HK * T * D), pv(B * HK * T * DV);
  const std::vector<double> past_k = has_past ? ReadDoubles(ctx.input(4)) : std::vector<double>();
  const std::vector<double> past_v = has_past ? ReadDoubles(ctx.input(5)) : std::vector<double>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < HK; ++h) {
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t d = 0; d < D; ++d) {
          double x;
          if (t < P) x = past_k[((b * HK + h) * P + t) * D + d];
          else if (g.three_d) x = kv[(b * SK + (t - P)) * HK * D + h * D + d];
          else x = kv[((b * HK + h) * SK + (t - P)) * D + d];
          pk[((b * HK + h) * T + t) * D + d] = x;
        }
        for (int64_t d = 0; d < DV; ++d) {
          double x;
          if (t < P) x = past_v[((b * HK + h) * P + t) * DV + d];
          else if (g.three_d) x = vv[(b * SK + (t - P)) * HK * DV + h * DV + d];
          else x = vv[((b * HK + h) * SK + (t - P)) * DV + d];
          pv[((b * HK + h) * T + t) * DV + d] = x;
        }
      }
    }
  }
  // The mask, right-aligned against [B, HQ, SQ, mask_len]; mask_len may be shorter than T (the
  // rest is masked out).
  const bool has_mask = ctx.has_input(3);
  Dims mask_dims;
  std::vector<int64_t> mask_strides(4, 0);
  std::vector<double> mask;
  bool mask_bool = false;
  int64_t mask_len = T;
  if (has_mask) {
    const Tensor& m = ctx.input(3);
    mask_bool = m.dtype() == DType::kBool;
    if (!mask_bool && m.dtype() != qt.dtype()) return ctx.Error("attn_mask must be bool or Q's type");
    if (m.rank() < 1 || m.rank() > 4) return ctx.Error(kiln::StrCat("attn_mask ", m.TypeString(), " must have rank 1-4"));
    mask = ReadDoubles(m);
    mask_dims = m.dims();
    mask_len = mask_dims.back();
    if (mask_len > T) return ctx.Error(kiln::StrCat("attn_mask's last dimension ", mask_len, " exceeds ", T));
    const Dims full{B, HQ, SQ, mask_len};
    const std::vector<int64_t> own = Strides(mask_dims);
    const size_t off = 4 - mask_dims.size();
    for (size_t i = 0; i < mask_dims.size(); ++i) {
      if (mask_dims[i] != 1 && mask_dims[i] != full[i + off]) {
        return ctx.Error(kiln::StrCat("attn_mask ", m.TypeString(), " does not broadcast to ", DimsToString(full)));
      }
      mask_strides[i + off] = mask_dims[i] == 1 ? 0 : own[i];
    }
  }
  const bool has_nonpad = ctx.has_input(6);
  std::vector<int64_t> nonpad;
  if (has_nonpad) {
    if (has_past) return ctx.Error("nonpad_kv_seqlen cannot be combined with past_key/past_value");
    nonpad = ToInt64Vector(ctx.input(6));
    if (static_cast<int64_t>(nonpad.size()) != B) return ctx.Error("nonpad_kv_seqlen must have one value per batch");
    for (int64_t len : nonpad) {
      if (len < 0 || len > T) {
        return ctx.Error(
            kiln::StrCat("nonpad_kv_seqlen value ", len, " is outside [0, ", T, "] (the K/V sequence length)"));
      }
    }
  }
  double scale = a.scale ? static_cast<double>(*a.scale) : 1.0 / std::sqrt(static_cast<double>(D));
  // The reference scales Q and K each by sqrt(scale), rounded to the input type.
  const double sqrt_scale = std::sqrt(scale);
  const int64_t reps = HQ / HK;

  std::vector<double> y(B * HQ * SQ * DV, 0.0), qk_out(B * HQ * SQ * T, 0.0);
  std::vector<double> logits(T), bias(T), probs(T);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t offset = has_nonpad ? nonpad[b] - SQ : P;
    for (int64_t h = 0; h < HQ; ++h) {
      const int64_t hk = h / reps;
      for (int64_t i = 0; i < SQ; ++i) {
        double bias_max = kNegInf;
        for (int64_t j = 0; j < T; ++j) {
          double bj = 0;
          if (has_mask) {
            if (j >= mask_len) {
              bj = kNegInf;
            } else {
              const double m = mask[b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2] + j * mask_strides[3]];
              bj = mask_bool ? (m != 0 ? 0.0 : kNegInf) : m;
            }
          }
          if (a.is_causal && j > i + offset) bj = kNegInf;
          if (a.left_window >= 0 || a.right_window >= 0) {
            const int64_t diff = i + offset - j;
            if ((a.left_window >= 0 && diff > a.left_window) || (a.right_window >= 0 && -diff > a.right_window)) {
              bj = kNegInf;
            }
          }
          if (has_nonpad && j >= nonpad[b]) bj = kNegInf;
          bias[j] = bj;
          bias_max = std::max(bias_max, bj);
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            dot += q_at(b, h, i, d) * sqrt_scale * pk[((b * HK + hk) * T + j) * D + d] * sqrt_scale;
          }
          if (a.softcap > 0) dot = a.softcap * std::tanh(dot / a.softcap);
          logits[j] = dot;
        }
        double* qk_row = &qk_out[((b * HQ + h) * SQ + i) * T];
        for (int64_t j = 0; j < T; ++j) {
          qk_row[j] = a.mode == 2 ? logits[j] + bias[j] : logits[j];
        }
        // Softmax of logits + bias; a row whose bias is -inf everywhere gives zeros.
        double mx = kNegInf;
        for (int64_t j = 0; j < T; ++j) mx = std::max(mx, logits[j] + bias[j]);
        const bool all_masked = bias_max == kNegInf || mx == kNegInf;
        double sum = 0;
        for (int64_t j = 0; j < T; ++j) {
          probs[j] = all_masked ? 0.0 : std::exp(logits[j] + bias[j] - mx);
          sum += probs[j];
        }
        for (int64_t j = 0; j < T; ++j) probs[j] = sum > 0 ? probs[j] / sum : 0.0;
        if (a.mode == 3) {
          for (int64_t j = 0; j < T; ++j) qk_row[j] = probs[j];
        }
        for (int64_t d = 0; d < DV; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < T; ++j) acc += probs[j] * pv[((b * HK + hk) * T + j) * DV + d];
          const int64_t idx = g.three_d ? (b * SQ + i) * HQ * DV + h * DV + d : ((b * HQ + h) * SQ + i) * DV + d;
          y[idx] = acc;
        }
      }
    }
  }
  const DType dt = qt.dtype();
  const Dims y_dims = g.three_d ? Dims{B, SQ, HQ * DV} : Dims{B, HQ, SQ, DV};
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 0, dt, y_dims, y));
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 1, dt, {B, HK, T, D}, pk));
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 2, dt, {B, HK, T, DV}, pv));
  return WriteDoubles(ctx, 3, dt, {B, HQ, SQ, T}, qk_out);
}

// RotaryEmbedding(input [B, H, S, D] or [B, S, H * D], cos_cache, sin_cache, position_ids?;
// interleaved, rotary_embedding_dim, num_heads).
absl::Status RotaryShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype) || ctx.input(1).dtype != x.dtype || ctx.input(2).dtype != x.dtype) {
    return ctx.Error("input and caches must share one float type");
  }
  if (x.rank_known && x.dims.size() != 3 && x.dims.size() != 4) return ctx.Error("input must be 3-D or 4-D");
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status RotaryCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t interleaved, ctx.node().GetInt("interleaved", 0));
  KILN_ASSIGN_OR_RETURN(int64_t rd, ctx.node().GetInt("rotary_embedding_dim", 0));
  KILN_ASSIGN_OR_RETURN(int64_t heads, ctx.node().GetInt("num_heads", 0));
  int64_t B, S, H, D;
  const bool four_d = x.rank() == 4;
  if (four_d) {
    B = x.dims()[0], H = x.dims()[1], S = x.dims()[2], D = x.dims()[3];
  } else if (x.rank() == 3) {
    if (heads <= 0 || x.dims()[2] % heads) return ctx.Error("3-D input needs num_heads dividing the hidden size");
    B = x.dims()[0], S = x.dims()[1], H = heads, D = x.dims()[2] / heads;
  } else {
    return ctx.Error("input must be 3-D or 4-D");
  }
  if (rd == 0) rd = D;
  if (rd > D || rd % 2) return ctx.Error("rotary_embedding_dim must be even and at most the head size");
  const int64_t half = rd / 2;
  const Tensor& cos = ctx.input(1);
  const Tensor& sin = ctx.input(2);
  const bool has_pos = ctx.has_input(3);
  if (cos.dims() != sin.dims() || cos.dims().empty() || cos.dims().back() != half) {
    return ctx.Error(kiln::StrCat("caches ", cos.TypeString(), " must end in rotary_embedding_dim / 2 = ", half));
  }
  std::vector<int64_t> pos;
  if (has_pos) {
    pos = ToInt64Vector(ctx.input(3));
    if (static_cast<int64_t>(pos.size()) != B * S || cos.rank() != 2) return ctx.Error("position_ids must be [B, S] with 2-D caches");
    for (int64_t p : pos) {
      if (p < 0 || p >= cos.dims()[0]) return ctx.Error(kiln::StrCat("position id ", p, " is outside the caches"));
    }
  } else if (cos.dims() != Dims{B, S, half}) {
    return ctx.Error("without position_ids the caches must be [B, S, rotary_embedding_dim / 2]");
  }
  const std::vector<double> v = ReadDoubles(x), cv = ReadDoubles(cos), sv = ReadDoubles(sin);
  std::vector<double> y = v;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t row = has_pos ? pos[b * S + s] : b * S + s;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t base = four_d ? ((b * H + h) * S + s) * D : (b * S + s) * H * D + h * D;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t i1 = interleaved ? base + 2 * i : base + i;
          const int64_t i2 = interleaved ? base + 2 * i + 1 : base + half + i;
          const double c = cv[row * half + i], sn = sv[row * half + i];
          y[i1] = c * v[i1] - sn * v[i2];
          y[i2] = sn * v[i1] + c * v[i2];
        }
      }
    }
  return WriteDoubles(ctx, 0, x.dtype(), x.dims(), y);
}

}  // namespace

void RegisterAttentionOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("RotaryEmbedding", 3, 4, RotaryShapeFn, RotaryCompute));
  AddOp(registry, StatelessOpDef("Attention", 3, 7, AttentionShapeFn, AttentionCompute, 4));
}

}  // namespace kiln::kernels
