// Private to hlo/ and backends/: string concatenation that accepts std::string_view (this Abseil
// build's absl::string_view is its own type).
#ifndef KILN_HLO_STR_UTIL_H_
#define KILN_HLO_STR_UTIL_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace kiln::hlo::internal {

template <typename T>
decltype(auto) StrArg(const T& v) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return std::string(v);
  } else {
    return (v);
  }
}

// absl::StrCat over arguments that may include std::string_view.
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(StrArg(args)...);
}

}  // namespace kiln::hlo::internal

#endif  // KILN_HLO_STR_UTIL_H_
