// Equivalence check of two modules with the reference interpreter (declared in
// kiln/hlo/passes.h).
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kiln/support/strings.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {


Literal RandomLiteral(const Shape& shape, std::mt19937_64& rng) {
  if (shape.IsTuple()) {
    std::vector<Literal> elements;
    for (const Shape& e : shape.tuple_shapes()) elements.push_back(RandomLiteral(e, rng));
    return Literal::MakeTuple(std::move(elements));
  }
  Literal l(shape);
  if (!shape.IsArray()) return l;
  const PrimitiveType t = shape.element_type();
  std::uniform_real_distribution<double> real(-2.0, 2.0);
  std::uniform_int_distribution<int> small(0, 15);
  for (int64_t i = 0; i < l.element_count(); ++i) {
    if (IsFloatingPointType(t)) {
      l.SetFromDouble(i, real(rng));
    } else if (t == PrimitiveType::PRED) {
      l.SetFromDouble(i, small(rng) & 1);
    } else if (IsSignedIntegralType(t)) {
      l.SetFromDouble(i, small(rng) - 8);
    } else {
      l.SetFromDouble(i, small(rng));
    }
  }
  return l;
}

absl::Status Compare(const Literal& a, const Literal& b, const EquivalenceOptions& options,
                     const std::string& where) {
  if (!ShapeUtil::Compatible(a.shape(), b.shape())) {
    return absl::FailedPreconditionError(kiln::StrCat(where, ": shapes differ: ", a.shape().ToString(false),
                                             " vs ", b.shape().ToString(false)));
  }
  if (a.shape().IsTuple()) {
    for (size_t i = 0; i < a.tuple_elements().size(); ++i) {
      KILN_RETURN_IF_ERROR(Compare(a.tuple_elements()[i], b.tuple_elements()[i], options,
                              kiln::StrCat(where, " tuple element ", i)));
    }
    return absl::OkStatus();
  }
  if (!a.shape().IsArray()) return absl::OkStatus();
  const bool fp = IsFloatingPointType(a.shape().element_type());
  const int64_t w = ByteWidth(a.shape().element_type());
  const auto* pa = static_cast<const uint8_t*>(a.untyped_data());
  const auto* pb = static_cast<const uint8_t*>(b.untyped_data());
  for (int64_t i = 0; i < a.element_count(); ++i) {
    if (std::memcmp(pa + i * w, pb + i * w, w) == 0) continue;
    if (fp) {
      double x = a.GetAsDouble(i), y = b.GetAsDouble(i);
      if (std::isnan(x) && std::isnan(y)) continue;
      if (std::abs(x - y) <=
          options.absolute_tolerance + options.relative_tolerance * std::abs(y)) {
        continue;
      }
    }
    return absl::FailedPreconditionError(
        kiln::StrCat(where, ": element ", i, " differs: before ", a.GetAsDouble(i), ", after ",
            b.GetAsDouble(i)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEquivalent(const Module& before, const Module& after,
                             EquivalenceOptions options) {
  ProgramShape pa = before.entry_program_shape();
  ProgramShape pb = after.entry_program_shape();
  if (pa.parameters.size() != pb.parameters.size()) {
    return absl::FailedPreconditionError(kiln::StrCat("parameter counts differ: ", pa.parameters.size(),
                                             " vs ", pb.parameters.size()));
  }
  for (size_t i = 0; i < pa.parameters.size(); ++i) {
    if (!ShapeUtil::Compatible(pa.parameters[i], pb.parameters[i])) {
      return absl::FailedPreconditionError(
          kiln::StrCat("parameter ", i, " differs: ", pa.parameters[i].ToString(false), " vs ",
              pb.parameters[i].ToString(false)));
    }
  }
  for (int trial = 0; trial < options.trials; ++trial) {
    std::mt19937_64 rng(options.seed + trial);
    std::vector<Literal> args;
    for (const Shape& p : pa.parameters) args.push_back(RandomLiteral(p, rng));
    absl::StatusOr<Literal> ra = Evaluate(before, args);
    if (!ra.ok()) return Annotate(ra.status(), "evaluating the module before");
    absl::StatusOr<Literal> rb = Evaluate(after, args);
    if (!rb.ok()) return Annotate(rb.status(), "evaluating the module after");
    KILN_RETURN_IF_ERROR(Compare(*ra, *rb, options, kiln::StrCat("trial ", trial)));
  }
  return absl::OkStatus();
}

}  // namespace kiln::hlo
