#include "kiln/support/flags.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "absl/strings/numbers.h"
#include "kiln/support/strings.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kiln/support/status.h"

namespace kiln {

const std::vector<FlagInfo>& ListFlags() {
  static const std::vector<FlagInfo> kFlags = {
      {"auto_jit", "0", "0 runs every op with the runtime kernels; 1 and 2 cluster supported ops and "
                        "compile each cluster on its first execution"},
      {"min_cluster_size", "2", "smallest number of runtime ops that forms a cluster"},
      {"dump_to", "", "folder where each compiled cluster's HLO text is written"},
      {"backend", "cpu", "backend that compiles clusters: cpu or interpreter"},
      {"log_compiles", "false", "print one line per cluster compilation to stderr"},
      {"inter_op_threads", "1", "threads that run independent nodes of a graph at once (0: one per hardware "
                                "thread); each limits oneDNN's OpenMP threads to its share"},
      {"fold_constants", "true", "evaluate nodes whose inputs are all constants once when a session is "
                                 "created and keep their results as initializers"},
      {"measure_choice", "true", "after a cluster compiles, time its compiled code against the runtime "
                                 "kernels on the first call and keep the faster"},
      {"winograd", "true", "run 3x3 stride-1 f32 convolutions with constant weights (32+ channels in and out) "
                           "with oneDNN's Winograd algorithm where the CPU has it"},
  };
  return kFlags;
}

namespace {

// "--auto_jit, --min_cluster_size, ...": the flags ListFlags describes.
std::string KnownFlags() {
  std::string out;
  for (const FlagInfo& flag : ListFlags()) kiln::StrAppend(&out, out.empty() ? "" : ", ", "--", flag.name);
  return out;
}

// An InvalidArgument error about one KILN_FLAGS token, listing the flags there are.
absl::Status FlagError(std::string_view what) {
  return absl::InvalidArgumentError(kiln::StrCat("KILN_FLAGS: ", what, "; the flags are ", KnownFlags(),
                                                 " (`kiln flags` describes them)"));
}

absl::Status ParseInt(std::string_view name, std::string_view value, int min, int max, int* out) {
  if (!absl::SimpleAtoi(AsAbsl(value), out) || *out < min || *out > max) {
    return FlagError(kiln::StrCat("--", name, " takes an integer in ", min, "..", max, ", got '", value, "'"));
  }
  return absl::OkStatus();
}

// A boolean flag: bare (--name), =1 and =true are true; =0 and =false are false.
absl::Status ParseBool(std::string_view name, bool has_value, std::string_view value, bool* out) {
  if (!has_value || value == "1" || value == "true") {
    *out = true;
  } else if (value == "0" || value == "false") {
    *out = false;
  } else {
    return FlagError(kiln::StrCat("--", name, " takes true, false, 1 or 0, got '", value, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Flags> ParseFlags(std::string_view text) {
  Flags flags;
  for (absl::string_view piece : absl::StrSplit(AsAbsl(text), absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    const std::string_view token = FromAbsl(piece);
    std::string_view body = token;
    if (body.substr(0, 2) != "--") {
      return FlagError(kiln::StrCat("'", token, "' is not a flag; write --name=value"));
    }
    body.remove_prefix(2);
    std::string_view name = body, value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    const bool known = std::any_of(ListFlags().begin(), ListFlags().end(),
                                   [&](const FlagInfo& flag) { return flag.name == name; });
    if (!known) return FlagError(kiln::StrCat("unknown flag --", name));
    if (!has_value && name != "log_compiles" && name != "fold_constants" && name != "measure_choice" &&
        name != "winograd") {
      return FlagError(kiln::StrCat("--", name, " needs a value (--", name, "=VALUE)"));
    }
    if (name == "auto_jit") {
      KILN_RETURN_IF_ERROR(ParseInt(name, value, 0, 2, &flags.auto_jit));
    } else if (name == "min_cluster_size") {
      KILN_RETURN_IF_ERROR(ParseInt(name, value, 1, std::numeric_limits<int>::max(), &flags.min_cluster_size));
    } else if (name == "dump_to") {
      flags.dump_to = std::string(value);
    } else if (name == "backend") {
      if (value.empty()) return FlagError("--backend needs a backend name, e.g. --backend=cpu");
      flags.backend = std::string(value);
    } else if (name == "inter_op_threads") {
      KILN_RETURN_IF_ERROR(ParseInt(name, value, 0, std::numeric_limits<int>::max(), &flags.inter_op_threads));
    } else if (name == "fold_constants") {
      KILN_RETURN_IF_ERROR(ParseBool(name, has_value, value, &flags.fold_constants));
    } else if (name == "measure_choice") {
      KILN_RETURN_IF_ERROR(ParseBool(name, has_value, value, &flags.measure_choice));
    } else if (name == "winograd") {
      KILN_RETURN_IF_ERROR(ParseBool(name, has_value, value, &flags.winograd));
    } else if (name == "log_compiles") {
      KILN_RETURN_IF_ERROR(ParseBool(name, has_value, value, &flags.log_compiles));
    }
  }
  return flags;
}

const absl::StatusOr<Flags>& EnvFlags() {
  static const absl::StatusOr<Flags>* const flags = [] {
    const char* env = std::getenv("KILN_FLAGS");
    return new absl::StatusOr<Flags>(env == nullptr ? absl::StatusOr<Flags>(Flags{}) : ParseFlags(env));
  }();
  return *flags;
}

const Flags& GetFlags() {
  static const Flags defaults;
  const absl::StatusOr<Flags>& flags = EnvFlags();
  return flags.ok() ? *flags : defaults;
}

}  // namespace kiln
