// The HLO text parser: reads XLA's HLO text (as Module::ToString prints it and as XLA prints
// modules before optimisation).
#ifndef KILN_HLO_PARSER_H_
#define KILN_HLO_PARSER_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "kiln/hlo/module.h"

namespace kiln::hlo {

// Parses one module. InvalidArgument naming the line, column and what was expected otherwise.
// The result is not verified (call VerifyModule).
absl::StatusOr<std::unique_ptr<Module>> ParseModule(std::string_view text);

}  // namespace kiln::hlo

#endif  // KILN_HLO_PARSER_H_
