#include "tools/kiln/args.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "kiln/support/strings.h"
#include "tools/kiln/cli.h"

namespace kiln::cli {

std::vector<std::string> ParsedArgs::All(const std::string& name) const {
  std::vector<std::string> out;
  auto [begin, end] = values.equal_range(name);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

std::string ParsedArgs::Get(const std::string& name, const std::string& def) const {
  std::vector<std::string> all = All(name);
  return all.empty() ? def : all.back();
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(const std::string& name, int64_t def, int64_t min,
                                           int64_t max) const {
  if (!Has(name)) return def;
  int64_t v;
  if (!absl::SimpleAtoi(Get(name), &v) || v < min || v > max) {
    return UsageError(kiln::StrCat("--", name, " needs an integer in ", min, "..", max, ", got '", Get(name), "'"));
  }
  return v;
}

absl::StatusOr<float> ParsedArgs::GetFloat(const std::string& name, float def) const {
  if (!Has(name)) return def;
  float v;
  if (!absl::SimpleAtof(Get(name), &v) || !std::isfinite(v)) {
    return UsageError(kiln::StrCat("--", name, " needs a finite number, got '", Get(name), "'"));
  }
  return v;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::set<std::string>& value_options,
                                     const std::set<std::string>& switch_options) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      parsed.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      std::string value = name.substr(eq + 1);
      name.resize(eq);
      if (value_options.count(name) == 0) return UsageError(kiln::StrCat("unknown option --", name));
      parsed.values.emplace(name, value);
      continue;
    }
    if (switch_options.count(name) > 0) {
      parsed.switches.insert(name);
      continue;
    }
    if (value_options.count(name) == 0) return UsageError(kiln::StrCat("unknown option --", name));
    if (i + 1 >= args.size()) return UsageError(kiln::StrCat("--", name, " needs a value"));
    parsed.values.emplace(name, args[++i]);
  }
  return parsed;
}

}  // namespace kiln::cli
