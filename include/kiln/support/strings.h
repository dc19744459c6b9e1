// Kiln's one string-view type is std::string_view: every Kiln API takes and returns it. This
// Abseil build's absl::string_view is a type of its own (not an alias of std::string_view), so
// Kiln concatenates with kiln::StrCat / kiln::StrAppend, which accept std::string_view arguments,
// and hands a view to other Abseil functions through AsAbsl() at the call.
#ifndef KILN_SUPPORT_STRINGS_H_
#define KILN_SUPPORT_STRINGS_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kiln {

// The same characters as an absl::string_view (no copy), for Abseil functions that take one.
inline absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The same characters as a std::string_view, for what an Abseil function returns (StrSplit pieces).
inline std::string_view FromAbsl(absl::string_view s) { return std::string_view(s.data(), s.size()); }

namespace strings_internal {
template <typename T>
decltype(auto) Arg(const T& v) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return AsAbsl(v);
  } else {
    return (v);
  }
}
}  // namespace strings_internal

// absl::StrCat / absl::StrAppend over arguments that may include std::string_view.
template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(strings_internal::Arg(args)...);
}
template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  absl::StrAppend(out, strings_internal::Arg(args)...);
}

}  // namespace kiln

#endif  // KILN_SUPPORT_STRINGS_H_
