// Helpers shared by the kiln subcommands (private to tools/kiln).
#ifndef KILN_TOOLS_KILN_COMMON_H_
#define KILN_TOOLS_KILN_COMMON_H_

#include <string>
#include <vector>

#include "kiln/runtime/graph.h"

namespace kiln::cli {

// The graph inputs a caller must feed (declared inputs that are not initializers).
std::vector<const ValueInfo*> FedInputs(const Graph& graph);

// "f32[1,3,224,224]", with "?" for unknown dimensions and "f32[unknown rank]" without a shape.
std::string ValueTypeText(const ValueInfo& info);

// A JSON string literal (quoted and escaped).
std::string JsonString(const std::string& s);

// The median of `values` (mean of the middle two for an even count); 0 when empty.
double Median(std::vector<double> values);

}  // namespace kiln::cli

#endif  // KILN_TOOLS_KILN_COMMON_H_
