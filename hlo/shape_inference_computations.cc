// Shape functions of ops that call computations: reductions, scatter, sort, map, call and control
// flow.
#include <algorithm>
#include <string_view>
#include <vector>

#include "hlo/shape_inference_internal.h"
#include "kiln/hlo/computation.h"
#include "kiln/hlo/shape_inference.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

using shape_inference_internal::CheckDimsInRange;
using shape_inference_internal::CheckScalarComputation;
using shape_inference_internal::CheckWindow;
using shape_inference_internal::Contains;
using shape_inference_internal::Dims;
using shape_inference_internal::Err;
using shape_inference_internal::ShapeOrTuple;
using shape_inference_internal::WindowOutputSize;

namespace {

// Reduce and reduce-window: N operands then N scalar inits, and a to_apply taking 2N scalars and
// returning N. Returns N.
absl::StatusOr<int64_t> CheckOperandsAndInits(absl::Span<const Shape* const> operands,
                                              const Computation* to_apply, std::string_view what) {
  int64_t n = static_cast<int64_t>(operands.size()) / 2;
  if (operands.size() % 2 != 0 || n == 0) return Err("needs N operands and N inits");
  if (to_apply == nullptr) return Err("needs to_apply");
  KILN_RETURN_IF_ERROR(CheckScalarComputation(to_apply, 2 * n, n, what));
  return n;
}

// Result k has `dims` and the element type of init k; all operands share dimensions.
absl::StatusOr<Shape> ReductionResult(absl::Span<const Shape* const> operands, int64_t n,
                                      absl::Span<const int64_t> dims) {
  std::vector<Shape> results;
  for (int64_t k = 0; k < n; ++k) {
    if (operands[k]->dimensions() != operands[0]->dimensions()) {
      return Err("operand dimensions differ");
    }
    if (!operands[n + k]->IsScalar()) return Err("init values must be scalars");
    results.push_back(ShapeUtil::MakeShape(operands[n + k]->element_type(), dims));
  }
  return ShapeOrTuple(std::move(results));
}

// The operand's dimensions after `window` (which passed CheckWindow).
absl::StatusOr<std::vector<int64_t>> WindowedDimensions(const Shape& operand,
                                                        const Window& window) {
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < operand.rank(); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t size,
                          WindowOutputSize(operand.dimensions(i), window.dimensions[i]));
    dims.push_back(size);
  }
  return dims;
}

}  // namespace

absl::StatusOr<Shape> InferReduceShape(absl::Span<const Shape* const> operands,
                                       absl::Span<const int64_t> dimensions,
                                       const Computation* to_apply) {
  KILN_ASSIGN_OR_RETURN(int64_t n, CheckOperandsAndInits(operands, to_apply, "reduce"));
  const Shape& first = *operands[0];
  KILN_RETURN_IF_ERROR(CheckDimsInRange(dimensions, first.rank(), "reduce"));
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < first.rank(); ++i) {
    if (!Contains(dimensions, i)) dims.push_back(first.dimensions(i));
  }
  return ReductionResult(operands, n, dims);
}

absl::StatusOr<Shape> InferReduceWindowShape(absl::Span<const Shape* const> operands,
                                             const Window& window, const Computation* to_apply) {
  KILN_ASSIGN_OR_RETURN(int64_t n, CheckOperandsAndInits(operands, to_apply, "reduce-window"));
  const Shape& first = *operands[0];
  KILN_RETURN_IF_ERROR(CheckWindow(window, first.rank()));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, WindowedDimensions(first, window));
  return ReductionResult(operands, n, dims);
}

absl::StatusOr<Shape> InferSelectAndScatterShape(const Shape& operand, const Computation* select,
                                                 const Window& window, const Shape& source,
                                                 const Shape& init_value,
                                                 const Computation* scatter) {
  if (select == nullptr || scatter == nullptr) return Err("needs select and scatter");
  KILN_RETURN_IF_ERROR(CheckScalarComputation(select, 2, 1, "select"));
  KILN_RETURN_IF_ERROR(CheckScalarComputation(scatter, 2, 1, "scatter"));
  KILN_RETURN_IF_ERROR(CheckWindow(window, operand.rank()));
  if (!init_value.IsScalar()) return Err("init value must be a scalar");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, WindowedDimensions(operand, window));
  if (source.dimensions() != dims) {
    return Err("source dimensions ", Dims(source.dimensions()), " differ from the window output ",
               Dims(dims));
  }
  return ShapeUtil::ChangeElementType(operand, init_value.element_type());
}

absl::StatusOr<Shape> InferScatterShape(absl::Span<const Shape* const> operands,
                                        const Computation* to_apply) {
  int64_t count = static_cast<int64_t>(operands.size());
  int64_t n = (count - 1) / 2;
  if (count < 3 || (count - 1) % 2 != 0) return Err("needs N operands, indices and N updates");
  if (to_apply == nullptr) return Err("needs to_apply");
  KILN_RETURN_IF_ERROR(CheckScalarComputation(to_apply, 2 * n, n, "scatter"));
  if (!IsIntegralType(operands[n]->element_type())) return Err("scatter indices must be integers");
  std::vector<Shape> results;
  for (int64_t k = 0; k < n; ++k) results.push_back(*operands[k]);
  return ShapeOrTuple(std::move(results));
}

absl::StatusOr<Shape> InferSortShape(absl::Span<const Shape* const> operands,
                                     absl::Span<const int64_t> dimensions,
                                     const Computation* comparator) {
  if (operands.empty()) return Err("needs operands");
  if (comparator == nullptr) return Err("needs a comparator");
  KILN_RETURN_IF_ERROR(CheckScalarComputation(comparator, 2 * operands.size(), 1, "sort"));
  if (comparator->root_instruction()->shape().element_type() != PrimitiveType::PRED) {
    return Err("comparator must return pred");
  }
  if (dimensions.size() != 1 || dimensions[0] < 0 ||
      dimensions[0] >= std::max<int64_t>(operands[0]->rank(), 1)) {
    return Err("sort dimension out of range");
  }
  std::vector<Shape> results;
  for (const Shape* s : operands) {
    if (s->dimensions() != operands[0]->dimensions()) return Err("operand dimensions differ");
    results.push_back(*s);
  }
  return ShapeOrTuple(std::move(results));
}

absl::StatusOr<Shape> InferMapShape(absl::Span<const Shape* const> operands,
                                    const Computation* to_apply) {
  if (operands.empty()) return Err("needs operands");
  if (to_apply == nullptr) return Err("needs to_apply");
  KILN_RETURN_IF_ERROR(CheckScalarComputation(to_apply, operands.size(), 1, "map"));
  for (const Shape* s : operands) {
    if (s->dimensions() != operands[0]->dimensions()) return Err("operand dimensions differ");
  }
  return ShapeUtil::MakeShape(to_apply->root_instruction()->shape().element_type(),
                              operands[0]->dimensions());
}

absl::StatusOr<Shape> InferCallShape(absl::Span<const Shape* const> arguments,
                                     const Computation* callee) {
  if (callee == nullptr) return Err("needs to_apply");
  if (callee->num_parameters() != static_cast<int64_t>(arguments.size())) {
    return Err("argument count mismatch");
  }
  for (int64_t i = 0; i < callee->num_parameters(); ++i) {
    if (!ShapeUtil::Compatible(callee->parameter_instruction(i)->shape(), *arguments[i])) {
      return Err("argument ", i, " shape differs from the callee's parameter");
    }
  }
  return callee->root_instruction()->shape();
}

absl::StatusOr<Shape> InferWhileShape(const Shape& init, const Computation* condition,
                                      const Computation* body) {
  if (condition == nullptr || body == nullptr) return Err("needs condition and body");
  if (condition->num_parameters() != 1 || body->num_parameters() != 1) {
    return Err("condition and body take one parameter");
  }
  if (!ShapeUtil::Compatible(condition->parameter_instruction(0)->shape(), init) ||
      !ShapeUtil::Compatible(body->parameter_instruction(0)->shape(), init) ||
      !ShapeUtil::Compatible(body->root_instruction()->shape(), init)) {
    return Err("init, condition parameter, body parameter and body result must agree");
  }
  const Shape& cr = condition->root_instruction()->shape();
  if (!cr.IsScalar() || cr.element_type() != PrimitiveType::PRED) {
    return Err("condition must return pred[]");
  }
  return init;
}

absl::StatusOr<Shape> InferConditionalShape(absl::Span<const Shape* const> operands,
                                            absl::Span<const Computation* const> branches) {
  if (branches.empty() || operands.size() != branches.size() + 1) {
    return Err("needs a branch index and one operand per branch");
  }
  const Shape& idx = *operands[0];
  if (!idx.IsScalar() ||
      (idx.element_type() != PrimitiveType::S32 && idx.element_type() != PrimitiveType::PRED)) {
    return Err("branch index must be s32[] or pred[]");
  }
  if (idx.element_type() == PrimitiveType::PRED && branches.size() != 2) {
    return Err("a pred branch index needs two branches");
  }
  const Shape& result = branches[0]->root_instruction()->shape();
  for (size_t b = 0; b < branches.size(); ++b) {
    if (branches[b]->num_parameters() != 1 ||
        !ShapeUtil::Compatible(branches[b]->parameter_instruction(0)->shape(), *operands[b + 1])) {
      return Err("branch ", b, " parameter differs from its operand");
    }
    if (!ShapeUtil::Compatible(branches[b]->root_instruction()->shape(), result)) {
      return Err("branch results differ");
    }
  }
  return result;
}

}  // namespace kiln::hlo
