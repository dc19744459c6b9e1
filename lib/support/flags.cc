#include "kiln/support/flags.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

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
  };
  return kFlags;
}

namespace {

absl::Status ParseInt(absl::string_view name, absl::string_view value, int* out) {
  if (!absl::SimpleAtoi(value, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("KILN_FLAGS: --", name, " needs an integer, got '", value, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Flags> ParseFlags(absl::string_view text) {
  Flags flags;
  for (absl::string_view token : absl::StrSplit(text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&token, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("KILN_FLAGS: '", token, "' is not a flag; write --name=value"));
    }
    absl::string_view name = token, value;
    bool has_value = false;
    if (size_t eq = token.find('='); eq != absl::string_view::npos) {
      name = token.substr(0, eq);
      value = token.substr(eq + 1);
      has_value = true;
    }
    if (name == "auto_jit") {
      if (!ParseInt(name, value, &flags.auto_jit).ok() || flags.auto_jit < 0 || flags.auto_jit > 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("KILN_FLAGS: --auto_jit takes 0, 1 or 2, got '", value, "'"));
      }
    } else if (name == "min_cluster_size") {
      if (absl::Status s = ParseInt(name, value, &flags.min_cluster_size); !s.ok()) return s;
      if (flags.min_cluster_size < 1) {
        return absl::InvalidArgumentError("KILN_FLAGS: --min_cluster_size must be at least 1");
      }
    } else if (name == "dump_to") {
      flags.dump_to = std::string(value);
    } else if (name == "backend") {
      flags.backend = std::string(value);
    } else if (name == "inter_op_threads") {
      if (absl::Status s = ParseInt(name, value, &flags.inter_op_threads); !s.ok()) return s;
      if (flags.inter_op_threads < 0) {
        return absl::InvalidArgumentError("KILN_FLAGS: --inter_op_threads must be 0 or more");
      }
    } else if (name == "log_compiles") {
      flags.log_compiles = !has_value || value == "1" || value == "true";
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("KILN_FLAGS: unknown flag --", name, "; `kiln flags` lists the known ones"));
    }
  }
  return flags;
}

const Flags& GetFlags() {
  static const Flags flags = [] {
    const char* env = std::getenv("KILN_FLAGS");
    if (env == nullptr) return Flags{};
    absl::StatusOr<Flags> parsed = ParseFlags(env);
    if (!parsed.ok()) {
      std::fprintf(stderr, "kiln: ignoring KILN_FLAGS: %s\n", parsed.status().ToString().c_str());
      return Flags{};
    }
    return *parsed;
  }();
  return flags;
}

}  // namespace kiln
