// Contractions and reductions: dot, convolution, reduce, reduce-window.
//
// Accumulation order (documented in kiln/hlo/evaluator.h): in the result type (F16/BF16
// in F32), dot over the contracting dimensions in row-major order; convolution over input
// features, then kernel positions in row-major order; reduce and reduce-window over the reduced
// elements / window positions in row-major order, starting from the init value.
#include <algorithm>

#include "hlo/evaluator/evaluator.h"
#include "hlo/evaluator/scalar_ops.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/native_types.h"
#include "kiln/support/status.h"

namespace kiln::hlo::evaluator {
namespace {

using hlo::ComputeType;
using hlo::Literal;
using hlo::Opcode;
using hlo::ShapeUtil;

// Offsets (sum of index * stride) of every index over `dims` (given as positions into `all_dims`
// with `strides`), in row-major order of `dims`.
std::vector<int64_t> Offsets(absl::Span<const int64_t> dim_ids, absl::Span<const int64_t> all_dims,
                             absl::Span<const int64_t> strides) {
  std::vector<int64_t> sizes;
  for (int64_t d : dim_ids) sizes.push_back(all_dims[d]);
  std::vector<int64_t> out;
  ForEachIndex(sizes, [&](absl::Span<const int64_t> idx) {
    int64_t o = 0;
    for (size_t i = 0; i < idx.size(); ++i) o += idx[i] * strides[dim_ids[i]];
    out.push_back(o);
  });
  return out;
}

absl::StatusOr<Literal> ToType(const Literal& l, hlo::PrimitiveType t) {
  if (l.shape().element_type() == t) return l;
  return l.Convert(t);
}

template <typename T>
void DotImpl(const Literal& lhs, const Literal& rhs, const hlo::DotDimensionNumbers& d,
             Literal& out) {
  using C = ComputeType<T>;
  const auto& ld = lhs.shape().dimensions();
  const auto& rd = rhs.shape().dimensions();
  auto ls = ShapeUtil::RowMajorStrides(ld);
  auto rs = ShapeUtil::RowMajorStrides(rd);
  std::vector<int64_t> lfree, rfree;
  for (int64_t i = 0; i < lhs.shape().rank(); ++i) {
    if (std::find(d.lhs_batch_dimensions.begin(), d.lhs_batch_dimensions.end(), i) ==
            d.lhs_batch_dimensions.end() &&
        std::find(d.lhs_contracting_dimensions.begin(), d.lhs_contracting_dimensions.end(), i) ==
            d.lhs_contracting_dimensions.end()) {
      lfree.push_back(i);
    }
  }
  for (int64_t i = 0; i < rhs.shape().rank(); ++i) {
    if (std::find(d.rhs_batch_dimensions.begin(), d.rhs_batch_dimensions.end(), i) ==
            d.rhs_batch_dimensions.end() &&
        std::find(d.rhs_contracting_dimensions.begin(), d.rhs_contracting_dimensions.end(), i) ==
            d.rhs_contracting_dimensions.end()) {
      rfree.push_back(i);
    }
  }
  std::vector<int64_t> lb = Offsets(d.lhs_batch_dimensions, ld, ls);
  std::vector<int64_t> rb = Offsets(d.rhs_batch_dimensions, rd, rs);
  std::vector<int64_t> lk = Offsets(d.lhs_contracting_dimensions, ld, ls);
  std::vector<int64_t> rk = Offsets(d.rhs_contracting_dimensions, rd, rs);
  std::vector<int64_t> lm = Offsets(lfree, ld, ls);
  std::vector<int64_t> rn = Offsets(rfree, rd, rs);
  auto x = lhs.data<T>();
  auto y = rhs.data<T>();
  auto z = out.data<T>();
  int64_t o = 0;
  for (size_t b = 0; b < lb.size(); ++b) {
    for (int64_t m : lm) {
      for (int64_t n : rn) {
        C acc = C(0);
        const int64_t lbase = lb[b] + m, rbase = rb[b] + n;
        for (size_t k = 0; k < lk.size(); ++k) {
          acc += hlo::ToCompute(x[lbase + lk[k]]) * hlo::ToCompute(y[rbase + rk[k]]);
        }
        z[o++] = hlo::FromCompute<T>(acc);
      }
    }
  }
}

template <typename T>
void ConvImpl(const hlo::Instruction& instr, const Literal& lhs, const Literal& rhs, Literal& out) {
  using C = ComputeType<T>;
  const hlo::ConvolutionDimensionNumbers& d = instr.convolution_dimension_numbers();
  const hlo::Window& win = instr.window();
  const int64_t ns = static_cast<int64_t>(d.input_spatial_dimensions.size());
  auto is = ShapeUtil::RowMajorStrides(lhs.shape().dimensions());
  auto ks = ShapeUtil::RowMajorStrides(rhs.shape().dimensions());
  auto os = ShapeUtil::RowMajorStrides(out.shape().dimensions());
  const auto& id = lhs.shape().dimensions();
  const auto& kd = rhs.shape().dimensions();
  const auto& od = out.shape().dimensions();
  const int64_t fgc = instr.feature_group_count(), bgc = instr.batch_group_count();
  const int64_t k_in = kd[d.kernel_input_feature_dimension];
  const int64_t k_out = kd[d.kernel_output_feature_dimension];
  const int64_t out_batch = od[d.output_batch_dimension];
  const int64_t out_per_fgroup = k_out / fgc, out_per_bgroup = k_out / bgc;

  std::vector<int64_t> out_spatial_sizes, k_spatial_sizes;
  for (int64_t i = 0; i < ns; ++i) {
    out_spatial_sizes.push_back(od[d.output_spatial_dimensions[i]]);
    k_spatial_sizes.push_back(kd[d.kernel_spatial_dimensions[i]]);
  }
  // Kernel spatial offsets, row-major over the kernel's spatial positions.
  std::vector<std::vector<int64_t>> kpos;
  ForEachIndex(k_spatial_sizes, [&](absl::Span<const int64_t> k) { kpos.emplace_back(k.begin(), k.end()); });
  std::vector<int64_t> k_off(kpos.size()), in_off(kpos.size());
  for (size_t p = 0; p < kpos.size(); ++p) {
    int64_t o = 0;
    for (int64_t i = 0; i < ns; ++i) o += kpos[p][i] * ks[d.kernel_spatial_dimensions[i]];
    k_off[p] = o;
  }
  auto x = lhs.data<T>();
  auto w = rhs.data<T>();
  auto z = out.data<T>();
  const int64_t in_fstride = is[d.input_feature_dimension];
  const int64_t k_ifstride = ks[d.kernel_input_feature_dimension];
  ForEachIndex(out_spatial_sizes, [&](absl::Span<const int64_t> opos) {
    // Input spatial offset per kernel position, or -1 where the window reads padding or a hole.
    int64_t out_sp_off = 0;
    for (int64_t i = 0; i < ns; ++i) out_sp_off += opos[i] * os[d.output_spatial_dimensions[i]];
    for (size_t p = 0; p < kpos.size(); ++p) {
      int64_t off = 0;
      for (int64_t i = 0; i < ns; ++i) {
        const hlo::WindowDimension& wd = win.dimensions[i];
        int64_t k = wd.window_reversal ? wd.size - 1 - kpos[p][i] : kpos[p][i];
        int64_t pos = opos[i] * wd.stride - wd.padding_low + k * wd.window_dilation;
        if (pos < 0 || pos % wd.base_dilation != 0) { off = -1; break; }
        pos /= wd.base_dilation;
        if (pos >= id[d.input_spatial_dimensions[i]]) { off = -1; break; }
        off += pos * is[d.input_spatial_dimensions[i]];
      }
      in_off[p] = off;
    }
    for (int64_t ob = 0; ob < out_batch; ++ob) {
      for (int64_t of = 0; of < k_out; ++of) {
        int64_t fg = of / out_per_fgroup;
        int64_t bg = of / out_per_bgroup;
        int64_t ib = bg * out_batch + ob;
        const int64_t in_base = ib * is[d.input_batch_dimension] + fg * k_in * in_fstride;
        const int64_t k_base = of * ks[d.kernel_output_feature_dimension];
        C acc = C(0);
        for (int64_t ic = 0; ic < k_in; ++ic) {
          const int64_t xi = in_base + ic * in_fstride;
          const int64_t wi = k_base + ic * k_ifstride;
          for (size_t p = 0; p < kpos.size(); ++p) {
            if (in_off[p] < 0) continue;
            acc += hlo::ToCompute(x[xi + in_off[p]]) * hlo::ToCompute(w[wi + k_off[p]]);
          }
        }
        z[ob * os[d.output_batch_dimension] + of * os[d.output_feature_dimension] + out_sp_off] =
            hlo::FromCompute<T>(acc);
      }
    }
  });
}

}  // namespace

absl::StatusOr<Literal> EvalDot(const hlo::Instruction& instr, Operands ops) {
  hlo::PrimitiveType t = instr.shape().element_type();
  KILN_ASSIGN_OR_RETURN(Literal lhs, ToType(*ops[0], t));
  KILN_ASSIGN_OR_RETURN(Literal rhs, ToType(*ops[1], t));
  Literal out(instr.shape());
  if (t == hlo::PrimitiveType::PRED) return absl::UnimplementedError("dot of pred");
  hlo::DispatchArrayType(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) DotImpl<T>(lhs, rhs, instr.dot_dimension_numbers(), out);
  });
  return out;
}

absl::StatusOr<Literal> EvalConvolution(const hlo::Instruction& instr, Operands ops) {
  hlo::PrimitiveType t = instr.shape().element_type();
  KILN_ASSIGN_OR_RETURN(Literal lhs, ToType(*ops[0], t));
  KILN_ASSIGN_OR_RETURN(Literal rhs, ToType(*ops[1], t));
  Literal out(instr.shape());
  if (t == hlo::PrimitiveType::PRED) return absl::UnimplementedError("convolution of pred");
  if (ShapeUtil::ElementsIn(instr.shape()) == 0) return out;
  hlo::DispatchArrayType(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) ConvImpl<T>(instr, lhs, rhs, out);
  });
  return out;
}

namespace {

// Reduction of one operand with a simple binary computation: out[o] = f(out[o], x) in row-major
// input order, from init.
template <typename T>
bool FastReduce(Opcode op, const Literal& in, const Literal& init, absl::Span<const int64_t> dims,
                Literal& out) {
  auto src = in.data<T>();
  auto dst = out.data<T>();
  const auto& id = in.shape().dimensions();
  std::vector<bool> reduced(id.size(), false);
  for (int64_t d : dims) reduced[d] = true;
  std::vector<int64_t> out_strides_full(id.size(), 0);
  {
    int64_t s = 1;
    for (int64_t i = static_cast<int64_t>(id.size()) - 1; i >= 0; --i) {
      if (!reduced[i]) {
        out_strides_full[i] = s;
        s *= id[i];
      }
    }
  }
  using C = ComputeType<T>;
  std::vector<C> acc(dst.size(), hlo::ToCompute(init.data<T>()[0]));
  bool ok = WithBinaryFn<T>(op, [&](auto fn) {
    int64_t i = 0;
    ForEachIndex(id, [&](absl::Span<const int64_t> idx) {
      int64_t o = 0;
      for (size_t k = 0; k < idx.size(); ++k) o += idx[k] * out_strides_full[k];
      acc[o] = fn(acc[o], hlo::ToCompute(src[i++]));
    });
  });
  for (size_t k = 0; k < dst.size(); ++k) dst[k] = hlo::FromCompute<T>(acc[k]);
  return ok;
}


// Splits a computation result (a scalar or a tuple of scalars) into its n scalars.
std::vector<Literal> Split(Literal r, int64_t n) {
  if (n == 1 && !r.shape().IsTuple()) return {std::move(r)};
  return std::move(r.tuple_elements());
}

}  // namespace

absl::StatusOr<Literal> EvalReduce(const hlo::Instruction& instr, Operands ops) {
  const int64_t n = instr.operand_count() / 2;
  const hlo::Computation& comp = *instr.to_apply();
  if (n == 1) {
    Literal out(instr.shape());
    std::optional<Opcode> simple = SimpleBinaryComputation(comp);
    if (simple && ops[0]->shape().element_type() == instr.shape().element_type()) {
      bool ok = hlo::DispatchArrayType(ops[0]->shape().element_type(), [&](auto tag) {
        return FastReduce<decltype(tag)>(*simple, *ops[0], *ops[1], instr.dimensions(), out);
      });
      if (ok) return out;
    }
  }
  // General path: evaluate the computation per element.
  const hlo::Shape& in_shape = ops[0]->shape();
  std::vector<bool> reduced(in_shape.rank(), false);
  for (int64_t d : instr.dimensions()) reduced[d] = true;
  std::vector<int64_t> out_dims;
  for (int64_t i = 0; i < in_shape.rank(); ++i) {
    if (!reduced[i]) out_dims.push_back(in_shape.dimensions(i));
  }
  auto out_strides = ShapeUtil::RowMajorStrides(out_dims);
  int64_t out_count = ShapeUtil::ElementsIn(ShapeUtil::MakeShape(hlo::PrimitiveType::F32, out_dims));
  std::vector<std::vector<Literal>> acc(out_count);
  for (int64_t o = 0; o < out_count; ++o) {
    for (int64_t k = 0; k < n; ++k) acc[o].push_back(*ops[n + k]);
  }
  int64_t i = 0;
  absl::Status status;
  ForEachIndex(in_shape.dimensions(), [&](absl::Span<const int64_t> idx) {
    if (!status.ok()) return;
    int64_t o = 0, j = 0;
    for (int64_t d = 0; d < in_shape.rank(); ++d) {
      if (!reduced[d]) o += idx[d] * out_strides[j++];
    }
    std::vector<Literal> elems;
    std::vector<const Literal*> args;
    for (int64_t k = 0; k < n; ++k) elems.push_back(ScalarAt(*ops[k], i));
    for (int64_t k = 0; k < n; ++k) args.push_back(&acc[o][k]);
    for (int64_t k = 0; k < n; ++k) args.push_back(&elems[k]);
    absl::StatusOr<Literal> r = EvaluateComputation(comp, args);
    if (!r.ok()) {
      status = r.status();
      return;
    }
    acc[o] = Split(*std::move(r), n);
    ++i;
  });
  KILN_RETURN_IF_ERROR(status);
  std::vector<Literal> outs;
  for (int64_t k = 0; k < n; ++k) {
    Literal out(n == 1 ? instr.shape() : instr.shape().tuple_shapes(k));
    for (int64_t o = 0; o < out_count; ++o) StoreScalarAt(out, o, acc[o][k]);
    outs.push_back(std::move(out));
  }
  if (n == 1) return std::move(outs[0]);
  return Literal::MakeTuple(std::move(outs));
}

absl::StatusOr<Literal> EvalReduceWindow(const hlo::Instruction& instr, Operands ops) {
  const int64_t n = instr.operand_count() / 2;
  const hlo::Computation& comp = *instr.to_apply();
  const hlo::Shape& in_shape = ops[0]->shape();
  const hlo::Window& win = instr.window();
  const int64_t rank = in_shape.rank();
  auto in_strides = ShapeUtil::RowMajorStrides(in_shape.dimensions());
  std::vector<int64_t> wsizes;
  for (const auto& w : win.dimensions) wsizes.push_back(w.size);
  // Input linear index of window position `k` for output `o`, or -1 outside / in a hole.
  auto input_index = [&](absl::Span<const int64_t> o, absl::Span<const int64_t> k) -> int64_t {
    int64_t lin = 0;
    for (int64_t i = 0; i < rank; ++i) {
      const hlo::WindowDimension& w = win.dimensions[i];
      int64_t pos = o[i] * w.stride - w.padding_low + k[i] * w.window_dilation;
      if (pos < 0 || pos % w.base_dilation != 0) return -1;
      pos /= w.base_dilation;
      if (pos >= in_shape.dimensions(i)) return -1;
      lin += pos * in_strides[i];
    }
    return lin;
  };
  const hlo::Shape& out_shape0 = n == 1 ? instr.shape() : instr.shape().tuple_shapes(0);
  std::optional<Opcode> simple = SimpleBinaryComputation(comp);
  if (n == 1 && simple && in_shape.element_type() == out_shape0.element_type()) {
    Literal out(instr.shape());
    bool ok = hlo::DispatchArrayType(in_shape.element_type(), [&](auto tag) {
      using T = decltype(tag);
      using C = ComputeType<T>;
      auto src = ops[0]->data<T>();
      auto dst = out.data<T>();
      C init = hlo::ToCompute(ops[1]->data<T>()[0]);
      return WithBinaryFn<T>(*simple, [&](auto fn) {
        int64_t o = 0;
        ForEachIndex(out_shape0.dimensions(), [&](absl::Span<const int64_t> oi) {
          C acc = init;
          ForEachIndex(wsizes, [&](absl::Span<const int64_t> k) {
            int64_t lin = input_index(oi, k);
            if (lin >= 0) acc = fn(acc, hlo::ToCompute(src[lin]));
          });
          dst[o++] = hlo::FromCompute<T>(acc);
        });
      });
    });
    if (ok) return out;
  }
  std::vector<Literal> outs;
  for (int64_t k = 0; k < n; ++k) outs.emplace_back(n == 1 ? instr.shape() : instr.shape().tuple_shapes(k));
  absl::Status status;
  int64_t o = 0;
  ForEachIndex(out_shape0.dimensions(), [&](absl::Span<const int64_t> oi) {
    std::vector<Literal> acc;
    for (int64_t k = 0; k < n; ++k) acc.push_back(*ops[n + k]);
    ForEachIndex(wsizes, [&](absl::Span<const int64_t> kk) {
      if (!status.ok()) return;
      int64_t lin = input_index(oi, kk);
      if (lin < 0) return;
      std::vector<Literal> elems;
      std::vector<const Literal*> args;
      for (int64_t k = 0; k < n; ++k) elems.push_back(ScalarAt(*ops[k], lin));
      for (int64_t k = 0; k < n; ++k) args.push_back(&acc[k]);
      for (int64_t k = 0; k < n; ++k) args.push_back(&elems[k]);
      absl::StatusOr<Literal> r = EvaluateComputation(comp, args);
      if (!r.ok()) {
        status = r.status();
        return;
      }
      acc = Split(*std::move(r), n);
    });
    for (int64_t k = 0; k < n; ++k) StoreScalarAt(outs[k], o, acc[k]);
    ++o;
  });
  KILN_RETURN_IF_ERROR(status);
  if (n == 1) return std::move(outs[0]);
  return Literal::MakeTuple(std::move(outs));
}

}  // namespace kiln::hlo::evaluator
