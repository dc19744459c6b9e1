// Batch normalization: inference, training and grad. Statistics are per feature over every other
// dimension, in the element type's compute type: mean = sum(x) / m, variance = sum((x - mean)^2) / m
// (two passes).
#include <cmath>
#include <vector>

#include "hlo/evaluator/evaluator.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/native_types.h"

namespace kiln::hlo::evaluator {
namespace {

using hlo::Literal;
using hlo::ShapeUtil;

// The per-feature view of a batch-norm operand: nf features, m elements each.
struct FeatureLayout {
  FeatureLayout(const hlo::Shape& shape, int64_t feature_index)
      : nf(shape.dimensions(feature_index)),
        count(ShapeUtil::ElementsIn(shape)),
        m(nf == 0 ? 0 : count / nf),
        stride(ShapeUtil::RowMajorStrides(shape.dimensions())[feature_index]) {}
  int64_t feature(int64_t i) const { return (i / stride) % nf; }  // Of row-major element i.
  int64_t nf, count, m, stride;
};

}  // namespace

// y = scale * (x - mean) / sqrt(variance + epsilon) + offset, per feature, computed in the element
// type's compute type.
absl::StatusOr<Literal> EvalBatchNormInference(const hlo::Instruction& instr, Operands ops) {
  Literal out(instr.shape());
  const hlo::Shape& shape = ops[0]->shape();
  const int64_t f = instr.feature_index();
  auto strides = ShapeUtil::RowMajorStrides(shape.dimensions());
  int64_t count = ShapeUtil::ElementsIn(shape);
  hlo::DispatchArrayType(shape.element_type(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (hlo::kIsFloat<T>) {
      using C = hlo::ComputeType<T>;
      auto x = ops[0]->data<T>();
      auto scale = ops[1]->data<T>();
      auto offset = ops[2]->data<T>();
      auto mean = ops[3]->data<T>();
      auto var = ops[4]->data<T>();
      auto y = out.data<T>();
      C eps = static_cast<C>(instr.epsilon());
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = (i / strides[f]) % shape.dimensions(f);
        C v = (hlo::ToCompute(x[i]) - hlo::ToCompute(mean[c])) /
                  std::sqrt(hlo::ToCompute(var[c]) + eps) * hlo::ToCompute(scale[c]) +
              hlo::ToCompute(offset[c]);
        y[i] = hlo::FromCompute<T>(v);
      }
    }
  });
  return out;
}

absl::StatusOr<Literal> EvalBatchNormTraining(const hlo::Instruction& instr, Operands ops) {
  const hlo::Shape& shape = ops[0]->shape();
  const FeatureLayout layout(shape, instr.feature_index());
  const int64_t nf = layout.nf, count = layout.count, m = layout.m;
  Literal y(instr.shape().tuple_shapes(0));
  Literal mean_out(instr.shape().tuple_shapes(1));
  Literal var_out(instr.shape().tuple_shapes(2));
  bool ok = hlo::DispatchArrayType(shape.element_type(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (hlo::kIsFloat<T>) {
      using C = hlo::ComputeType<T>;
      auto x = ops[0]->data<T>();
      auto scale = ops[1]->data<T>();
      auto offset = ops[2]->data<T>();
      std::vector<C> sum(nf, 0), sq(nf, 0);
      auto feature = [&](int64_t i) { return layout.feature(i); };
      for (int64_t i = 0; i < count; ++i) sum[feature(i)] += hlo::ToCompute(x[i]);
      std::vector<C> mean(nf), var(nf);
      for (int64_t c = 0; c < nf; ++c) mean[c] = sum[c] / static_cast<C>(m);
      for (int64_t i = 0; i < count; ++i) {
        C d = hlo::ToCompute(x[i]) - mean[feature(i)];
        sq[feature(i)] += d * d;
      }
      for (int64_t c = 0; c < nf; ++c) var[c] = sq[c] / static_cast<C>(m);
      const C eps = static_cast<C>(instr.epsilon());
      auto yd = y.data<T>();
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = feature(i);
        yd[i] = hlo::FromCompute<T>((hlo::ToCompute(x[i]) - mean[c]) / std::sqrt(var[c] + eps) *
                                        hlo::ToCompute(scale[c]) +
                                    hlo::ToCompute(offset[c]));
      }
      for (int64_t c = 0; c < nf; ++c) {
        mean_out.data<T>()[c] = hlo::FromCompute<T>(mean[c]);
        var_out.data<T>()[c] = hlo::FromCompute<T>(var[c]);
      }
      return true;
    }
    return false;
  });
  if (!ok)
    return absl::InvalidArgumentError(kiln::StrCat("batch-norm-training %", instr.name(), ": not a float"));
  return Literal::MakeTuple({std::move(y), std::move(mean_out), std::move(var_out)});
}

// XLA's batch-norm-grad, with m elements per feature and r = rsqrt(variance + epsilon):
//   grad_offset = sum(dy); grad_scale = sum(dy * (x - mean)) * r;
//   grad_operand = scale * r * (dy - grad_offset / m - (x - mean) * r * grad_scale / m).
absl::StatusOr<Literal> EvalBatchNormGrad(const hlo::Instruction& instr, Operands ops) {
  const hlo::Shape& shape = ops[0]->shape();
  const FeatureLayout layout(shape, instr.feature_index());
  const int64_t nf = layout.nf, count = layout.count, m = layout.m;
  Literal dx(instr.shape().tuple_shapes(0));
  Literal dscale(instr.shape().tuple_shapes(1));
  Literal doffset(instr.shape().tuple_shapes(2));
  bool ok = hlo::DispatchArrayType(shape.element_type(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (hlo::kIsFloat<T>) {
      using C = hlo::ComputeType<T>;
      auto x = ops[0]->data<T>();
      auto scale = ops[1]->data<T>();
      auto mean = ops[2]->data<T>();
      auto var = ops[3]->data<T>();
      auto dy = ops[4]->data<T>();
      const C eps = static_cast<C>(instr.epsilon());
      auto feature = [&](int64_t i) { return layout.feature(i); };
      std::vector<C> sum_dy(nf, 0), sum_dy_xc(nf, 0), r(nf);
      for (int64_t c = 0; c < nf; ++c) r[c] = C(1) / std::sqrt(hlo::ToCompute(var[c]) + eps);
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = feature(i);
        sum_dy[c] += hlo::ToCompute(dy[i]);
        sum_dy_xc[c] += hlo::ToCompute(dy[i]) * (hlo::ToCompute(x[i]) - hlo::ToCompute(mean[c]));
      }
      auto dxd = dx.data<T>();
      const C mc = static_cast<C>(m);
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = feature(i);
        C xc = hlo::ToCompute(x[i]) - hlo::ToCompute(mean[c]);
        C gs = sum_dy_xc[c] * r[c];
        dxd[i] =
            hlo::FromCompute<T>(hlo::ToCompute(scale[c]) * r[c] *
                                (hlo::ToCompute(dy[i]) - sum_dy[c] / mc - xc * r[c] * gs / mc));
      }
      for (int64_t c = 0; c < nf; ++c) {
        dscale.data<T>()[c] = hlo::FromCompute<T>(sum_dy_xc[c] * r[c]);
        doffset.data<T>()[c] = hlo::FromCompute<T>(sum_dy[c]);
      }
      return true;
    }
    return false;
  });
  if (!ok)
    return absl::InvalidArgumentError(kiln::StrCat("batch-norm-grad %", instr.name(), ": not a float"));
  return Literal::MakeTuple({std::move(dx), std::move(dscale), std::move(doffset)});
}

}  // namespace kiln::hlo::evaluator
