// Helpers for backend tests: random arguments, running a module on a backend, and comparing a
// backend's results with the reference interpreter's under an explicit tolerance.
#ifndef KILN_TESTS_BACKENDS_BACKEND_TEST_UTIL_H_
#define KILN_TESTS_BACKENDS_BACKEND_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/support/strings.h"
#include "kiln/backends/backend.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/literal.h"
#include "kiln/hlo/module.h"

namespace kiln::testing {

// |actual - expected| <= abs + rel * |expected| for floats; integers and predicates are exact.
struct ErrorSpec {
  double rel = 1e-5;
  double abs = 1e-6;
};

// Value range of random floating-point arguments.
struct InputRange {
  double lo = -2.0;
  double hi = 2.0;
};

inline hlo::Literal RandomLiteral(const hlo::Shape& shape, std::mt19937& rng, InputRange range = {}) {
  hlo::Literal lit(shape);
  std::uniform_real_distribution<double> real(range.lo, range.hi);
  std::uniform_int_distribution<int> small(-20, 20);
  std::uniform_int_distribution<int> bit(0, 1);
  for (int64_t i = 0; i < lit.element_count(); ++i) {
    const hlo::PrimitiveType t = shape.element_type();
    if (hlo::IsFloatingPointType(t)) {
      lit.SetFromDouble(i, real(rng));
    } else if (t == hlo::PrimitiveType::PRED) {
      lit.SetFromDouble(i, bit(rng));
    } else if (hlo::IsUnsignedIntegralType(t)) {
      lit.SetFromDouble(i, std::abs(small(rng)));
    } else {
      lit.SetFromDouble(i, small(rng));
    }
  }
  return lit;
}

// Compiles `module` on `backend` and runs it on `args`; returns one literal per result.
inline absl::StatusOr<std::vector<hlo::Literal>> RunOnBackend(backends::Backend& backend,
                                                              const hlo::Module& module,
                                                              const std::vector<hlo::Literal>& args) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<backends::Executable> exe, backend.Compile(module.Clone(), {}));
  std::vector<backends::BufferRef> arg_refs;
  for (const hlo::Literal& a : args) {
    arg_refs.push_back({const_cast<void*>(a.untyped_data()), a.size_bytes()});
  }
  std::vector<hlo::Literal> results;
  for (const hlo::Shape& s : exe->result_shapes()) results.emplace_back(s);
  std::vector<backends::BufferRef> result_refs;
  // Literal storage is not guaranteed 64-byte aligned: run into aligned buffers and copy back.
  std::vector<std::unique_ptr<char, decltype(&std::free)>> storage;
  for (hlo::Literal& r : results) {
    const size_t bytes = r.size_bytes();
    storage.emplace_back(static_cast<char*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64)), &std::free);
    result_refs.push_back({storage.back().get(), bytes});
  }
  backends::RunContext ctx;
  KILN_RETURN_IF_ERROR(exe->Run(arg_refs, result_refs, ctx));
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].size_bytes() > 0) std::memcpy(results[i].untyped_data(), result_refs[i].data, results[i].size_bytes());
  }
  return results;
}

// Splits the interpreter's value into one literal per result.
inline std::vector<hlo::Literal> Flatten(hlo::Literal value) {
  if (!value.shape().IsTuple()) {
    std::vector<hlo::Literal> out;
    out.push_back(std::move(value));
    return out;
  }
  return std::move(value.tuple_elements());
}

// Empty when equal within `spec`; otherwise a description of the first mismatches. NaN must meet NaN
// and an infinity the same infinity; with `signed_zeros`, two zeros must also have the same sign.
inline std::string CompareLiterals(const hlo::Literal& expected, const hlo::Literal& actual, ErrorSpec spec,
                                   bool signed_zeros = false) {
  if (expected.shape().dimensions() != actual.shape().dimensions() ||
      expected.shape().element_type() != actual.shape().element_type()) {
    return kiln::StrCat("shape ", actual.shape().ToString(), " != expected ", expected.shape().ToString());
  }
  std::string report;
  int mismatches = 0;
  const bool is_float = hlo::IsFloatingPointType(expected.shape().element_type());
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    bool ok;
    if (is_float) {
      const double e = expected.GetAsDouble(i), a = actual.GetAsDouble(i);
      if (std::isnan(e) || std::isnan(a)) {
        ok = std::isnan(e) && std::isnan(a);
      } else if (e == 0 && a == 0) {
        ok = !signed_zeros || std::signbit(e) == std::signbit(a);
      } else {
        ok = e == a || std::abs(a - e) <= spec.abs + spec.rel * std::abs(e);
      }
      auto show = [](double v) { return v == 0 && std::signbit(v) ? std::string("-0") : kiln::StrCat(v); };
      if (!ok && ++mismatches <= 5) kiln::StrAppend(&report, " [", i, "] expected ", show(e), " got ", show(a), ";");
    } else {
      ok = expected.GetAsInt64(i) == actual.GetAsInt64(i);
      if (!ok && ++mismatches <= 5) {
        kiln::StrAppend(&report, " [", i, "] expected ", expected.GetAsInt64(i), " got ", actual.GetAsInt64(i), ";");
      }
    }
  }
  if (mismatches == 0) return "";
  return kiln::StrCat(mismatches, " of ", expected.element_count(), " elements differ:", report);
}

}  // namespace kiln::testing

#endif  // KILN_TESTS_BACKENDS_BACKEND_TEST_UTIL_H_
