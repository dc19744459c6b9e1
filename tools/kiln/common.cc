#include "tools/kiln/common.h"

#include <algorithm>

#include "kiln/support/strings.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kiln::cli {

std::vector<const ValueInfo*> FedInputs(const Graph& graph) {
  std::vector<const ValueInfo*> out;
  for (const ValueInfo& info : graph.inputs) {
    if (graph.initializers.count(info.name) == 0) out.push_back(&info);
  }
  return out;
}

std::string ValueTypeText(const ValueInfo& info) {
  if (!info.has_shape) return kiln::StrCat(DTypeName(info.dtype), "[unknown rank]");
  return kiln::StrCat(DTypeName(info.dtype), "[",
                      absl::StrJoin(info.dims, ",",
                                    [](std::string* out, int64_t d) {
                                      kiln::StrAppend(out, d < 0 ? std::string("?") : kiln::StrCat(d));
                                    }),
                      "]");
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace kiln::cli
