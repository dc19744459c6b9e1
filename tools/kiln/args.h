// Command-line parsing for the kiln subcommands (private to tools/kiln).
#ifndef KILN_TOOLS_KILN_ARGS_H_
#define KILN_TOOLS_KILN_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln::cli {

struct ParsedArgs {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> values;  // "--name value" / "--name=value", by name.
  std::set<std::string> switches;                  // "--name" without a value.

  bool Has(const std::string& name) const { return values.count(name) > 0 || switches.count(name) > 0; }
  std::vector<std::string> All(const std::string& name) const;
  // The last value given for `name`, or `def`.
  std::string Get(const std::string& name, const std::string& def = "") const;
  // Typed getters; a malformed or out-of-range value is a usage error naming the option. GetFloat
  // refuses NaN and infinities (and numbers beyond float's range, which parse as infinities).
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t def, int64_t min, int64_t max) const;
  absl::StatusOr<float> GetFloat(const std::string& name, float def) const;
};

// Splits `args` into positional arguments, options that take a value (`value_options`) and
// switches. Anything else starting with "--" is a usage error, as is a value option at the end.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::set<std::string>& value_options,
                                     const std::set<std::string>& switch_options);

}  // namespace kiln::cli

#endif  // KILN_TOOLS_KILN_ARGS_H_
