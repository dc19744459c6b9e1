// Gemm and MatMul. f32 products run through oneDNN's sgemm (stateless, thread-safe); integer
// products use the reference loops.
#include <cstring>

#include <oneapi/dnnl/dnnl.h>

#include "kiln/support/strings.h"
#include "runtime/kernels/kernel_util.h"

namespace kiln::kernels {
namespace {

bool IsMatMulType(DType t) { return IsFloatType(t) || t == DType::kF64 || t == DType::kS32 || t == DType::kS64; }

// C[m,n] (+)= alpha * sum_k A[m,k] B[k,n] with element strides for A and B (row-major C, ldc = n).
template <typename T>
void ReferenceGemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs,
                   const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c) {
  std::vector<T> row(n);
  for (int64_t i = 0; i < m; ++i) {
    std::fill(row.begin(), row.end(), T(0));
    for (int64_t p = 0; p < k; ++p) {
      const T av = a[i * a_rs + p * a_cs];
      const T* bp = b + p * b_rs;
      for (int64_t j = 0; j < n; ++j) row[j] = WrapAdd<T>(row[j], WrapMul<T>(av, bp[j * b_cs]));  // Integers wrap.
    }
    T* cp = c + i * n;
    for (int64_t j = 0; j < n; ++j) {
      cp[j] = WrapAdd<T>(WrapMul<T>(alpha, row[j]), beta == T(0) ? T(0) : WrapMul<T>(beta, cp[j]));
    }
  }
}

// Row-major f32 GEMM: C = alpha * op(A) op(B) + beta * C.
absl::Status Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return absl::OkStatus();
  if (k == 0) {
    for (int64_t i = 0; i < m * n; ++i) c[i] = beta == 0 ? 0.0f : beta * c[i];
    return absl::OkStatus();
  }
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, trans_a ? m : k, b,
                                trans_b ? k : n, beta, c, n);
  if (st != dnnl_success) return absl::InternalError(kiln::StrCat("oneDNN sgemm failed with status ", st));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Gemm.

struct GemmAttrs {
  float alpha = 1, beta = 1;
  bool trans_a = false, trans_b = false;
};

absl::StatusOr<GemmAttrs> ReadGemmAttrs(const Node& node) {
  GemmAttrs g;
  KILN_ASSIGN_OR_RETURN(g.alpha, node.GetFloat("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(g.beta, node.GetFloat("beta", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t ta, node.GetInt("transA", 0));
  KILN_ASSIGN_OR_RETURN(int64_t tb, node.GetInt("transB", 0));
  g.trans_a = ta != 0;
  g.trans_b = tb != 0;
  return g;
}

// Checks that `c` broadcasts unidirectionally to [m, n].
bool CBroadcasts(const Dims& c, int64_t m, int64_t n) {
  if (c.size() > 2) return false;
  Dims target = {m, n};
  for (size_t i = 0; i < c.size(); ++i) {
    const int64_t d = c[c.size() - 1 - i], t = target[1 - i];
    if (d != 1 && d >= 0 && t >= 0 && d != t) return false;
  }
  return true;
}

absl::Status GemmShapeFn(InferenceContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if (!IsMatMulType(a.dtype) || a.dtype != b.dtype || (ctx.has_input(2) && ctx.input(2).dtype != a.dtype)) {
    return ctx.Error(kiln::StrCat("A, B and C must share one element type among f32, s32, s64; got ",
                                  a.ToString(), ", ", b.ToString(),
                                  ctx.has_input(2) ? kiln::StrCat(", ", ctx.input(2).ToString()) : ""));
  }
  absl::StatusOr<GemmAttrs> g = ReadGemmAttrs(ctx.node());
  if (!g.ok()) return ctx.Error(FromAbsl(g.status().message()));
  if ((a.rank_known && a.dims.size() != 2) || (b.rank_known && b.dims.size() != 2)) {
    return ctx.Error(kiln::StrCat("A and B must be matrices; got ", a.ToString(), " and ", b.ToString()));
  }
  int64_t m = -1, n = -1;
  if (a.rank_known) {
    m = g->trans_a ? a.dims[1] : a.dims[0];
  }
  if (b.rank_known) {
    n = g->trans_b ? b.dims[0] : b.dims[1];
  }
  if (a.rank_known && b.rank_known) {
    const int64_t ka = g->trans_a ? a.dims[0] : a.dims[1];
    const int64_t kb = g->trans_b ? b.dims[1] : b.dims[0];
    if (ka >= 0 && kb >= 0 && ka != kb) {
      return ctx.Error(kiln::StrCat("inner dimensions differ: A ", a.ToString(), (g->trans_a ? " (transposed)" : ""),
                                    " and B ", b.ToString(), (g->trans_b ? " (transposed)" : "")));
    }
  }
  if (ctx.has_input(2) && ctx.input(2).rank_known && !CBroadcasts(ctx.input(2).dims, m, n)) {
    return ctx.Error(kiln::StrCat("C ", ctx.input(2).ToString(), " does not broadcast to [", m, ",", n, "]"));
  }
  ctx.set_output(0, TensorType{a.dtype, {m, n}});
  return absl::OkStatus();
}

absl::Status GemmCompute(const GemmAttrs& g, KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() != 2 || b.rank() != 2 || a.dtype() != b.dtype() || !IsMatMulType(a.dtype())) {
    return ctx.Error(kiln::StrCat("A and B must be matrices of one type among f32, s32, s64; got ", a.TypeString(),
                                  " and ", b.TypeString()));
  }
  const int64_t m = g.trans_a ? a.dim(1) : a.dim(0), k = g.trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = g.trans_b ? b.dim(1) : b.dim(0), n = g.trans_b ? b.dim(0) : b.dim(1);
  if (k != kb) {
    return ctx.Error(kiln::StrCat("inner dimensions differ: A ", a.TypeString(), " and B ", b.TypeString()));
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, a.dtype(), {m, n}));
  bool has_c = ctx.has_input(2) && g.beta != 0;
  if (has_c) {
    const Tensor& c = ctx.input(2);
    if (c.dtype() != a.dtype() || !CBroadcasts(c.dims(), m, n)) {
      return ctx.Error(kiln::StrCat("C ", c.TypeString(), " does not broadcast to [", m, ",", n, "]"));
    }
    // Y = C broadcast; the product then accumulates with beta.
    const std::vector<int64_t> cs = BroadcastStrides(c.dims(), {m, n});
    const size_t es = DTypeSize(a.dtype());
    const char* cp = static_cast<const char*>(c.raw_data());
    char* yp = static_cast<char*>(y->raw_data());
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) std::memcpy(yp + (i * n + j) * es, cp + (i * cs[0] + j * cs[1]) * es, es);
    }
  }
  const float beta = has_c ? g.beta : 0.0f;
  if (a.dtype() == DType::kF32) {
    absl::Status s = Sgemm(g.trans_a, g.trans_b, m, n, k, g.alpha, a.data<float>(), b.data<float>(), beta,
                           y->data<float>());
    return s.ok() ? s : ctx.Error(FromAbsl(s.message()));
  }
  return DispatchNumeric(a.dtype(), "Gemm", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    const int64_t a_rs = g.trans_a ? 1 : k, a_cs = g.trans_a ? m : 1;
    const int64_t b_rs = g.trans_b ? 1 : n, b_cs = g.trans_b ? k : 1;
    // alpha and beta are float attributes: to an integer type they saturate (a plain cast of a huge
    // or NaN float is undefined behaviour).
    T alpha_t, beta_t;
    if constexpr (std::is_integral_v<T>) {
      alpha_t = SaturatingCast<T>(g.alpha);
      beta_t = SaturatingCast<T>(beta);
    } else {
      alpha_t = static_cast<T>(g.alpha);
      beta_t = static_cast<T>(beta);
    }
    ReferenceGemm<T>(m, n, k, alpha_t, a.data<T>(), a_rs, a_cs, b.data<T>(), b_rs, b_cs, beta_t, y->data<T>());
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// MatMul (numpy semantics).

struct MatMulShape {
  Dims batch;           // Broadcast batch dims.
  int64_t m = 1, k = 1, n = 1;
  Dims a_batch, b_batch;
  Dims out;
};

absl::StatusOr<MatMulShape> InferMatMul(const Dims& a, const Dims& b) {
  if (a.empty() || b.empty()) return absl::InvalidArgumentError("MatMul operands must have rank 1 or more");
  MatMulShape s;
  Dims ad = a, bd = b;
  if (a.size() == 1) ad.insert(ad.begin(), 1);
  if (b.size() == 1) bd.push_back(1);
  s.m = ad[ad.size() - 2];
  s.k = ad[ad.size() - 1];
  const int64_t kb = bd[bd.size() - 2];
  s.n = bd[bd.size() - 1];
  if (s.k >= 0 && kb >= 0 && s.k != kb) {
    return absl::InvalidArgumentError(kiln::StrCat("inner dimensions differ: ", DimsToString(a), " and ",
                                                   DimsToString(b)));
  }
  if (s.k < 0) s.k = kb;
  s.a_batch.assign(ad.begin(), ad.end() - 2);
  s.b_batch.assign(bd.begin(), bd.end() - 2);
  KILN_ASSIGN_OR_RETURN(s.batch, BroadcastDims(s.a_batch, s.b_batch));
  s.out = s.batch;
  if (a.size() > 1) s.out.push_back(s.m);
  if (b.size() > 1) s.out.push_back(s.n);
  return s;
}

absl::Status MatMulShapeFn(InferenceContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if (!IsMatMulType(a.dtype) || a.dtype != b.dtype) {
    return ctx.Error(kiln::StrCat("A and B must share one element type among f32, s32, s64; got ", a.ToString(),
                                  " and ", b.ToString()));
  }
  if (!a.rank_known || !b.rank_known) {
    TensorType out;
    out.dtype = a.dtype;
    out.rank_known = false;
    ctx.set_output(0, out);
    return absl::OkStatus();
  }
  absl::StatusOr<MatMulShape> s = InferMatMul(a.dims, b.dims);
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  ctx.set_output(0, TensorType{a.dtype, s->out});
  return absl::OkStatus();
}

absl::Status MatMulCompute(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype() || !IsMatMulType(a.dtype())) {
    return ctx.Error(kiln::StrCat("A and B must share one element type among f32, s32, s64; got ", a.TypeString(),
                                  " and ", b.TypeString()));
  }
  absl::StatusOr<MatMulShape> s = InferMatMul(a.dims(), b.dims());
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, a.dtype(), s->out));
  const int64_t m = s->m, n = s->n, k = s->k;
  const int64_t batches = NumElements(s->batch);
  if (batches == 0 || m == 0 || n == 0) return absl::OkStatus();
  const int64_t nb_b = NumElements(s->b_batch);
  // B shared by every batch: fold the batch into the rows of one product.
  const bool fold = nb_b == 1 && NumElements(s->a_batch) == batches;
  const std::vector<int64_t> sa = BroadcastStrides(s->a_batch, s->batch), sb = BroadcastStrides(s->b_batch, s->batch);
  const int r = static_cast<int>(s->batch.size());
  std::vector<int64_t> idx(r, 0);
  return DispatchNumeric(a.dtype(), "MatMul", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* yp = y->data<T>();
    auto product = [&](const T* am, const T* bm, T* ym, int64_t rows) -> absl::Status {
      if constexpr (std::is_same_v<T, float>) {
        return Sgemm(false, false, rows, n, k, 1.0f, am, bm, 0.0f, ym);
      } else {
        ReferenceGemm<T>(rows, n, k, T(1), am, k, 1, bm, n, 1, T(0), ym);
        return absl::OkStatus();
      }
    };
    if (fold) {
      absl::Status st = product(ap, bp, yp, batches * m);
      return st.ok() ? st : ctx.Error(FromAbsl(st.message()));
    }
    for (int64_t i = 0; i < batches; ++i) {
      int64_t oa = 0, ob = 0;
      for (int d = 0; d < r; ++d) {
        oa += idx[d] * sa[d];
        ob += idx[d] * sb[d];
      }
      absl::Status st = product(ap + oa * m * k, bp + ob * k * n, yp + i * m * n, m);
      if (!st.ok()) return ctx.Error(FromAbsl(st.message()));
      for (int d = r - 1; d >= 0; --d) {
        if (++idx[d] < s->batch[d]) break;
        idx[d] = 0;
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterMatMulOps(OpRegistry& registry) {
  auto gemm_factory = [](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    absl::StatusOr<GemmAttrs> g = ReadGemmAttrs(kc.node);
    if (!g.ok()) return g.status();
    GemmAttrs attrs = *g;
    return MakeFunctionKernel([attrs](KernelContext& ctx) { return GemmCompute(attrs, ctx); });
  };
  AddOp(registry, MakeOpDef("Gemm", 2, 3, GemmShapeFn, gemm_factory), /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("MatMul", 2, 2, MatMulShapeFn, MatMulCompute), /*half_via_f32=*/true);
}

}  // namespace kiln::kernels
