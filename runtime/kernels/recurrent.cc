// RNN, GRU and LSTM (ONNX opset 14/22 semantics): forward, reverse and bidirectional, layouts 0 and
// 1, sequence_lens, initial states, biases, LSTM peepholes and input_forget, GRU
// linear_before_reset, clip, and the activations Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu,
// ThresholdedRelu, ScaledTanh, Affine, Elu, Softsign and Softplus. f32 models run their matrix
// products on oneDNN's sgemm (the input projection of all steps at once, then one product with R
// per step) and the gate arithmetic in f32 on whole gate vectors (Sigmoid and Tanh vectorized);
// other float types compute in double throughout.
#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>

#include <oneapi/dnnl/dnnl.h>

#include "kiln/support/ieee_minmax.h"
#include "kiln/support/strings.h"
#include "kiln/support/vector_math.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

enum class Cell { kRnn, kGru, kLstm };

int Gates(Cell c) { return c == Cell::kRnn ? 1 : c == Cell::kGru ? 3 : 4; }
int NumActivations(Cell c) { return c == Cell::kRnn ? 1 : c == Cell::kGru ? 2 : 3; }

using Activation = std::function<double(double)>;

absl::StatusOr<Activation> MakeActivation(const Node& node, const std::string& name, std::optional<float> alpha,
                                          std::optional<float> beta) {
  const double a = alpha.value_or(0), b = beta.value_or(0);
  if (name == "Sigmoid") return Activation([](double x) { return 1 / (1 + std::exp(-x)); });
  if (name == "Tanh") return Activation([](double x) { return std::tanh(x); });
  if (name == "Relu") return Activation([](double x) { return IeeeMaximum(x, 0.0); });
  if (name == "HardSigmoid") {
    const double aa = alpha.value_or(0.2f), bb = beta.value_or(0.5f);
    return Activation([aa, bb](double x) { return IeeeClamp(aa * x + bb, 0.0, 1.0); });
  }
  if (name == "LeakyRelu") {
    const double aa = alpha.value_or(0.01f);
    return Activation([aa](double x) { return x >= 0 ? x : aa * x; });
  }
  if (name == "ThresholdedRelu") {
    const double aa = alpha.value_or(1.0f);
    return Activation([aa](double x) { return x > aa ? x : 0.0; });
  }
  if (name == "ScaledTanh") return Activation([a, b](double x) { return a * std::tanh(b * x); });
  if (name == "Affine") return Activation([a, b](double x) { return a * x + b; });
  if (name == "Elu") {
    const double aa = alpha.value_or(1.0f);
    return Activation([aa](double x) { return x >= 0 ? x : aa * (std::exp(x) - 1); });
  }
  if (name == "Softsign") return Activation([](double x) { return x / (1 + std::fabs(x)); });
  if (name == "Softplus") return Activation([](double x) { return std::log1p(std::exp(x)); });
  return absl::UnimplementedError(kiln::StrCat(node.op, " node '", node.name, "': activation '", name, "' is not supported"));
}

struct RecurrentAttrs {
  int64_t hidden = 0, layout = 0, dirs = 1, linear_before_reset = 0, input_forget = 0;
  std::string direction;
  std::optional<float> clip;
  std::vector<Activation> acts;  // NumActivations per direction.
  // Per activation: the f32 path's vector form (Sigmoid, Tanh), or kScalar for `acts` per element.
  enum class VectorForm { kSigmoid, kTanh, kScalar };
  std::vector<VectorForm> vector_forms;
};

absl::StatusOr<RecurrentAttrs> ReadRecurrentAttrs(const Node& node, Cell cell) {
  RecurrentAttrs a;
  KILN_ASSIGN_OR_RETURN(a.hidden, node.GetInt("hidden_size"));
  KILN_ASSIGN_OR_RETURN(a.layout, node.GetInt("layout", 0));
  KILN_ASSIGN_OR_RETURN(a.direction, node.GetString("direction", "forward"));
  KILN_ASSIGN_OR_RETURN(a.linear_before_reset, node.GetInt("linear_before_reset", 0));
  KILN_ASSIGN_OR_RETURN(a.input_forget, node.GetInt("input_forget", 0));
  if (node.HasAttr("clip")) {
    KILN_ASSIGN_OR_RETURN(float c, node.GetFloat("clip"));
    a.clip = c;
  }
  auto bad = [&node](const std::string& m) {
    return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': ", m));
  };
  if (a.hidden <= 0 || a.hidden > (int64_t{1} << 24)) return bad("hidden_size must be in [1, 2^24]");
  // std::clamp(v, -clip, clip) needs -clip <= clip.
  if (a.clip && !(*a.clip >= 0)) return bad(kiln::StrCat("clip must be non-negative, got ", *a.clip));
  if (a.layout != 0 && a.layout != 1) return bad("layout must be 0 or 1");
  if (a.direction != "forward" && a.direction != "reverse" && a.direction != "bidirectional") {
    return bad("direction must be forward, reverse or bidirectional");
  }
  a.dirs = a.direction == "bidirectional" ? 2 : 1;
  const int na = NumActivations(cell);
  std::vector<std::string> defaults = cell == Cell::kRnn ? std::vector<std::string>{"Tanh"}
                                                         : cell == Cell::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                                              : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<std::string> names;
  if (node.HasAttr("activations")) {
    auto it = node.attrs.find("activations");
    if (const auto* v = std::get_if<std::vector<std::string>>(&it->second)) names = *v;
    else return bad("activations must be a list of strings");
  }
  if (names.empty()) {
    for (int d = 0; d < a.dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  }
  if (static_cast<int64_t>(names.size()) != na * a.dirs) {
    return bad(kiln::StrCat("activations holds ", names.size(), " names; ", na * a.dirs, " expected"));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<float> alphas, node.GetFloats("activation_alpha", std::vector<float>{}));
  KILN_ASSIGN_OR_RETURN(std::vector<float> betas, node.GetFloats("activation_beta", std::vector<float>{}));
  for (size_t i = 0; i < names.size(); ++i) {
    std::optional<float> al, be;
    if (i < alphas.size()) al = alphas[i];
    if (i < betas.size()) be = betas[i];
    KILN_ASSIGN_OR_RETURN(Activation act, MakeActivation(node, names[i], al, be));
    a.acts.push_back(std::move(act));
    a.vector_forms.push_back(names[i] == "Sigmoid" ? RecurrentAttrs::VectorForm::kSigmoid
                             : names[i] == "Tanh"  ? RecurrentAttrs::VectorForm::kTanh
                                                   : RecurrentAttrs::VectorForm::kScalar);
  }
  return a;
}

absl::Status RecurrentShape(InferenceContext& ctx, Cell cell) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype)) return ctx.Error("X must be float");
  KILN_ASSIGN_OR_RETURN(RecurrentAttrs a, ReadRecurrentAttrs(ctx.node(), cell));
  const int nout = static_cast<int>(ctx.node().outputs.size());
  int64_t seq = -1, batch = -1;
  if (x.rank_known) {
    if (x.dims.size() != 3) return ctx.Error("X must be 3-D");
    seq = a.layout == 0 ? x.dims[0] : x.dims[1];
    batch = a.layout == 0 ? x.dims[1] : x.dims[0];
  }
  const Dims y = a.layout == 0 ? Dims{seq, a.dirs, batch, a.hidden} : Dims{batch, seq, a.dirs, a.hidden};
  const Dims h = a.layout == 0 ? Dims{a.dirs, batch, a.hidden} : Dims{batch, a.dirs, a.hidden};
  if (nout > 0) ctx.set_output(0, TensorType{x.dtype, y});
  if (nout > 1) ctx.set_output(1, TensorType{x.dtype, h});
  if (nout > 2 && cell == Cell::kLstm) ctx.set_output(2, TensorType{x.dtype, h});
  return absl::OkStatus();
}

// C[M,N] = A[M,K] . B[N,K]^T: oneDNN's sgemm for f32, plain loops for double.
void GemmNT(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(c, c + m * n, 0.0f);
    return;
  }
  dnnl_sgemm('N', 'T', m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
}
void GemmNT(int64_t m, int64_t n, int64_t k, const double* a, const double* b, double* c) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t q = 0; q < k; ++q) s += a[i * k + q] * b[j * k + q];
      c[i * n + j] = s;
    }
}

template <typename T>
std::vector<T> ReadAs(const Tensor& t) {
  if constexpr (std::is_same_v<T, float>) {
    return std::vector<float>(t.data<float>(), t.data<float>() + t.num_elements());
  } else {
    return ReadDoubles(t);
  }
}

template <typename T>
absl::Status WriteAs(KernelContext& ctx, int i, DType dtype, const Dims& dims, const std::vector<T>& values) {
  if constexpr (std::is_same_v<T, float>) {
    if (i >= ctx.num_outputs() || ctx.node().outputs[i].empty()) return absl::OkStatus();
    KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(i, DType::kF32, dims));
    std::copy(values.begin(), values.end(), out->data<float>());
    return absl::OkStatus();
  } else {
    return WriteDoubles(ctx, i, dtype, dims, values);
  }
}

// f32 gate arithmetic on whole gate vectors: clip, then the activation (Sigmoid and Tanh vectorized,
// kiln/support/vector_math.h; the others element by element in double).
void ClipInPlace(const RecurrentAttrs& a, float* x, int64_t n) {
  if (!a.clip) return;
  const float c = *a.clip;
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(x[i], -c, c);
}

void ActivateInPlace(const RecurrentAttrs& a, int act, float* x, int64_t n) {
  ClipInPlace(a, x, n);
  switch (a.vector_forms[act]) {
    case RecurrentAttrs::VectorForm::kSigmoid: SigmoidInPlace(x, static_cast<size_t>(n)); break;
    case RecurrentAttrs::VectorForm::kTanh: TanhInPlace(x, static_cast<size_t>(n)); break;
    case RecurrentAttrs::VectorForm::kScalar:
      for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(a.acts[act](x[i]));
      break;
  }
}

// One f32 step of a cell for one sequence: `g` holds the state's product with R (G*H values),
// `gxr` the input projection of this step; writes the new hidden state to `nh` (and the LSTM's cell
// state to `c`). Gate order as ONNX: LSTM i, o, f, c; GRU z, r, h.
struct F32Step {
  const RecurrentAttrs& a;
  Cell cell;
  int64_t H;
  int act0;  // index of this direction's first activation
  const float *Wb, *Rb, *P, *Rh;  // biases, peepholes (LSTM), GRU's R rows of the hidden gate
  std::vector<float>& tmp;  // H scratch values
  std::vector<float>& s2;   // H scratch values (GRU)

  void operator()(const float* gxr, float* g, const float* h, float* c, float* nh) const {
    const int64_t gates = cell == Cell::kLstm ? 4 : cell == Cell::kGru ? 2 : 1;  // summed here
    for (int64_t j = 0; j < gates * H; ++j) g[j] = (gxr[j] + Wb[j]) + (g[j] + Rb[j]);
    if (cell == Cell::kRnn) {
      ActivateInPlace(a, act0, g, H);
      std::copy(g, g + H, nh);
    } else if (cell == Cell::kGru) {
      float* z = g;
      float* r = g + H;
      float* hg = g + 2 * H;
      ActivateInPlace(a, act0, z, H);
      ActivateInPlace(a, act0, r, H);
      if (a.linear_before_reset) {
        for (int64_t k = 0; k < H; ++k) hg[k] = (gxr[2 * H + k] + Wb[2 * H + k]) + r[k] * (hg[k] + Rb[2 * H + k]);
      } else {
        for (int64_t k = 0; k < H; ++k) tmp[k] = r[k] * h[k];  // (r (.) H_{t-1}) R_h^T + Rb_h
        GemmNT(1, H, H, tmp.data(), Rh, s2.data());
        for (int64_t k = 0; k < H; ++k) hg[k] = (gxr[2 * H + k] + Wb[2 * H + k]) + s2[k] + Rb[2 * H + k];
      }
      ActivateInPlace(a, act0 + 1, hg, H);
      for (int64_t k = 0; k < H; ++k) nh[k] = (1 - z[k]) * hg[k] + z[k] * h[k];
    } else {
      float* i_g = g;
      float* o_g = g + H;
      float* f_g = g + 2 * H;
      float* c_in = g + 3 * H;
      for (int64_t k = 0; k < H; ++k) {
        i_g[k] += P[k] * c[k];
        f_g[k] += P[2 * H + k] * c[k];
      }
      ActivateInPlace(a, act0, i_g, H);
      if (a.input_forget) {
        for (int64_t k = 0; k < H; ++k) f_g[k] = 1 - i_g[k];
      } else {
        ActivateInPlace(a, act0, f_g, H);
      }
      ActivateInPlace(a, act0 + 1, c_in, H);
      for (int64_t k = 0; k < H; ++k) {
        c[k] = f_g[k] * c[k] + i_g[k] * c_in[k];
        o_g[k] += P[H + k] * c[k];
        tmp[k] = c[k];
      }
      ActivateInPlace(a, act0, o_g, H);
      ActivateInPlace(a, act0 + 2, tmp.data(), H);
      for (int64_t k = 0; k < H; ++k) nh[k] = o_g[k] * tmp[k];
    }
  }
};

// The recurrence in T: float when every float input is f32 (GEMMs on oneDNN), else double. The
// input projection of all time steps is one GEMM per direction; each step multiplies the state by R.
template <typename T>
absl::Status RecurrentRun(KernelContext& ctx, Cell cell, const RecurrentAttrs& a, int64_t seq, int64_t batch,
                          const std::vector<int64_t>& lens) {
  const Tensor& xt = ctx.input(0);
  const int64_t in = xt.dims()[2], H = a.hidden, G = Gates(cell), D = a.dirs;
  const std::vector<T> x = ReadAs<T>(xt), w = ReadAs<T>(ctx.input(1)), r = ReadAs<T>(ctx.input(2));
  std::vector<T> bias(D * 2 * G * H, T(0));
  if (ctx.has_input(3)) bias = ReadAs<T>(ctx.input(3));
  // State tensors are [D, batch, H] internally; layout 1 stores them [batch, D, H].
  auto read_state = [&](int i) -> std::vector<T> {
    std::vector<T> s(D * batch * H, T(0));
    if (!ctx.has_input(i)) return s;
    const std::vector<T> v = ReadAs<T>(ctx.input(i));
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t k = 0; k < H; ++k) s[(d * batch + b) * H + k] = a.layout == 0 ? v[(d * batch + b) * H + k] : v[(b * D + d) * H + k];
    return s;
  };
  std::vector<T> hstate = read_state(5), cstate(D * batch * H, T(0)), peep(D * 3 * H, T(0));
  if (cell == Cell::kLstm) {
    cstate = read_state(6);
    if (ctx.has_input(7)) peep = ReadAs<T>(ctx.input(7));
  }
  auto clip = [&a](double v) { return a.clip ? std::clamp(v, -static_cast<double>(*a.clip), static_cast<double>(*a.clip)) : v; };
  std::vector<T> y(seq * D * batch * H, T(0));
  const int na = NumActivations(cell);
  std::vector<T> gx_all(seq * batch * G * H), gh(G * H), nh(H), rg(H), rh(H), s2(H);
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = a.direction == "reverse" || d == 1;
    const T* W = &w[d * G * H * in];
    const T* R = &r[d * G * H * H];
    const T* Wb = &bias[d * 2 * G * H];
    const T* Rb = Wb + G * H;
    const Activation& f = a.acts[d * na];
    const Activation& g = na > 1 ? a.acts[d * na + 1] : f;
    const Activation& hact = na > 2 ? a.acts[d * na + 2] : g;
    // Rows of X in memory order: t * batch + b (layout 0) or b * seq + t (layout 1).
    GemmNT(seq * batch, G * H, in, x.data(), W, gx_all.data());
    for (int64_t b = 0; b < batch; ++b) {
      T* h = &hstate[(d * batch + b) * H];
      T* c = &cstate[(d * batch + b) * H];
      for (int64_t step = 0; step < lens[b]; ++step) {
        const int64_t t = reverse ? lens[b] - 1 - step : step;
        const T* gxr = &gx_all[(a.layout == 0 ? t * batch + b : b * seq + t) * G * H];
        GemmNT(1, G * H, H, h, R, gh.data());
        if constexpr (std::is_same_v<T, float>) {
          const F32Step step_fn{a, cell, H, static_cast<int>(d * na), Wb, Rb, &peep[d * 3 * H], R + 2 * H * H, rh, s2};
          step_fn(gxr, gh.data(), h, c, nh.data());
        } else {
          auto gx = [&](int64_t j) { return static_cast<double>(gxr[j]) + static_cast<double>(Wb[j]); };
          auto ghv = [&](int64_t j) { return static_cast<double>(gh[j]) + static_cast<double>(Rb[j]); };
          if (cell == Cell::kRnn) {
            for (int64_t k = 0; k < H; ++k) nh[k] = static_cast<T>(f(clip(gx(k) + ghv(k))));
          } else if (cell == Cell::kGru) {
            for (int64_t k = 0; k < H; ++k) rg[k] = static_cast<T>(f(clip(gx(H + k) + ghv(H + k))));
            if (!a.linear_before_reset) {
              // (r (.) H_{t-1}) R_h^T + Rb_h.
              for (int64_t k = 0; k < H; ++k) rh[k] = rg[k] * h[k];
              GemmNT(1, H, H, rh.data(), R + 2 * H * H, s2.data());
            }
            for (int64_t k = 0; k < H; ++k) {
              const double z = f(clip(gx(k) + ghv(k)));
              const double pre = a.linear_before_reset
                                     ? gx(2 * H + k) + static_cast<double>(rg[k]) * ghv(2 * H + k)
                                     : gx(2 * H + k) + static_cast<double>(s2[k]) + static_cast<double>(Rb[2 * H + k]);
              nh[k] = static_cast<T>((1 - z) * g(clip(pre)) + z * static_cast<double>(h[k]));
            }
          } else {
            const T* P = &peep[d * 3 * H];
            for (int64_t k = 0; k < H; ++k) {
              const double ck = c[k];
              const double i_g = f(clip(gx(k) + ghv(k) + P[k] * ck));
              double f_g = f(clip(gx(2 * H + k) + ghv(2 * H + k) + P[2 * H + k] * ck));
              if (a.input_forget) f_g = 1 - i_g;
              const double c_in = g(clip(gx(3 * H + k) + ghv(3 * H + k)));
              const double nc = f_g * ck + i_g * c_in;
              const double o_g = f(clip(gx(H + k) + ghv(H + k) + P[H + k] * nc));
              nh[k] = static_cast<T>(o_g * hact(nc));
              c[k] = static_cast<T>(nc);
            }
          }
        }
        for (int64_t k = 0; k < H; ++k) {
          h[k] = nh[k];
          const int64_t yi = a.layout == 0 ? ((t * D + d) * batch + b) * H + k : ((b * seq + t) * D + d) * H + k;
          y[yi] = nh[k];
        }
      }
    }
  }
  auto write_state = [&](int i, const std::vector<T>& s) {
    std::vector<T> v(s.size());
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t k = 0; k < H; ++k) {
          v[a.layout == 0 ? (d * batch + b) * H + k : (b * D + d) * H + k] = s[(d * batch + b) * H + k];
        }
    return WriteAs<T>(ctx, i, xt.dtype(), a.layout == 0 ? Dims{D, batch, H} : Dims{batch, D, H}, v);
  };
  KILN_RETURN_IF_ERROR(WriteAs<T>(ctx, 0, xt.dtype(), a.layout == 0 ? Dims{seq, D, batch, H} : Dims{batch, seq, D, H}, y));
  KILN_RETURN_IF_ERROR(write_state(1, hstate));
  if (cell == Cell::kLstm) KILN_RETURN_IF_ERROR(write_state(2, cstate));
  return absl::OkStatus();
}

absl::Status RecurrentCompute(KernelContext& ctx, Cell cell) {
  KILN_ASSIGN_OR_RETURN(RecurrentAttrs a, ReadRecurrentAttrs(ctx.node(), cell));
  const Tensor& xt = ctx.input(0);
  if (xt.rank() != 3) return ctx.Error("X must be 3-D");
  const int64_t seq = a.layout == 0 ? xt.dims()[0] : xt.dims()[1];
  const int64_t batch = a.layout == 0 ? xt.dims()[1] : xt.dims()[0];
  const int64_t in = xt.dims()[2], H = a.hidden, G = Gates(cell), D = a.dirs;
  const Tensor& wt = ctx.input(1);
  const Tensor& rt = ctx.input(2);
  if (wt.dims() != Dims{D, G * H, in} || rt.dims() != Dims{D, G * H, H}) {
    return ctx.Error(kiln::StrCat("W ", wt.TypeString(), " and R ", rt.TypeString(), " must be [", D, ",", G * H, ",", in,
                                  "] and [", D, ",", G * H, ",", H, "]"));
  }
  // Before any state vector is sized by batch (which may be huge when X has no elements).
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {D, batch, H}));
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {seq, D, batch, H}));
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {seq, batch, G * H}));
  if (ctx.has_input(3) && ctx.input(3).dims() != Dims{D, 2 * G * H}) {
    return ctx.Error("B must be [num_directions, 2 * gates * hidden_size]");
  }
  std::vector<int64_t> lens(batch, seq);
  if (ctx.has_input(4)) {
    lens = ToInt64Vector(ctx.input(4));
    if (static_cast<int64_t>(lens.size()) != batch) return ctx.Error("sequence_lens must hold one value per batch");
    for (int64_t l : lens) {
      if (l < 0 || l > seq) return ctx.Error("sequence_lens values must be in [0, seq_length]");
    }
  }
  const Dims state = a.layout == 0 ? Dims{D, batch, H} : Dims{batch, D, H};
  for (int i : {5, 6}) {
    if (i == 6 && cell != Cell::kLstm) break;
    if (ctx.has_input(i) && ctx.input(i).dims() != state) return ctx.Error("initial state has the wrong shape");
  }
  if (cell == Cell::kLstm && ctx.has_input(7) && ctx.input(7).dims() != Dims{D, 3 * H}) {
    return ctx.Error("P must be [num_directions, 3 * hidden_size]");
  }
  bool f32 = true;
  for (int i : {0, 1, 2, 3, 5, 6, 7}) {
    if (i < ctx.num_inputs() && ctx.has_input(i) && ctx.input(i).dtype() != DType::kF32) f32 = false;
  }
  return f32 ? RecurrentRun<float>(ctx, cell, a, seq, batch, lens) : RecurrentRun<double>(ctx, cell, a, seq, batch, lens);
}

void AddRecurrent(OpRegistry& registry, const char* name, Cell cell) {
  AddOp(registry, StatelessOpDef(name, 3, cell == Cell::kLstm ? 8 : 6,
                                 [cell](InferenceContext& ctx) { return RecurrentShape(ctx, cell); },
                                 [cell](KernelContext& ctx) { return RecurrentCompute(ctx, cell); },
                                 cell == Cell::kLstm ? 3 : 2));
}

}  // namespace

void RegisterRecurrentOps(OpRegistry& registry) {
  AddRecurrent(registry, "RNN", Cell::kRnn);
  AddRecurrent(registry, "GRU", Cell::kGru);
  AddRecurrent(registry, "LSTM", Cell::kLstm);
}

}  // namespace kiln::kernels
