// Status helpers: the one family of early-return macros used across Kiln. Every public macro carries the
// KILN_ prefix, so an application that includes Kiln's headers next to its own RETURN_IF_ERROR does
// not clash.
#ifndef KILN_SUPPORT_STATUS_H_
#define KILN_SUPPORT_STATUS_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "kiln/support/strings.h"

#define KILN_CONCAT_IMPL_(a, b) a##b
#define KILN_CONCAT_(a, b) KILN_CONCAT_IMPL_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define KILN_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status kiln_status_ = (expr);        \
    if (!kiln_status_.ok()) return kiln_status_; \
  } while (0)

// `KILN_ASSIGN_OR_RETURN(auto x, F());` assigns the value of a StatusOr or returns its error.
#define KILN_ASSIGN_OR_RETURN(lhs, rexpr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_CONCAT_(kiln_statusor_, __LINE__), lhs, rexpr)
#define KILN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

// Programmer errors (broken invariants), never bad input: the message goes to the logging sink
// (kiln/support/log.h, severity kError), then the process aborts.
#define KILN_CHECK(cond, msg)                                                   \
  do {                                                                          \
    if (!(cond)) ::kiln::internal::CheckFailed(__FILE__, __LINE__, #cond, msg); \
  } while (0)

namespace kiln::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              std::string_view message);
}  // namespace kiln::internal

namespace kiln {

// Prefixes "`context`: " to a non-OK status's message, keeping its code; a message that already starts
// with that prefix (a layer below added the same context) is returned unchanged.
inline absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  if (absl::StartsWith(s.message(), kiln::StrCat(context, ": "))) return s;
  return absl::Status(s.code(), kiln::StrCat(context, ": ", s.message()));
}

}  // namespace kiln

#endif  // KILN_SUPPORT_STATUS_H_
