// KILN_FLAGS: process-wide settings read once from the environment.
#ifndef KILN_SUPPORT_FLAGS_H_
#define KILN_SUPPORT_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

struct Flags {
  int auto_jit = 0;             // 0: off; 1 and 2: cluster and JIT-compile supported subgraphs.
  int min_cluster_size = 2;     // Smallest cluster (in runtime ops) worth compiling.
  std::string dump_to;          // When set, each compiled cluster's HLO text is written here.
  std::string backend = "cpu";  // Backend that compiles clusters: "cpu" or "interpreter".
  bool log_compiles = false;    // Print one line per cluster compilation to stderr.
  int inter_op_threads = 1;     // Threads running independent nodes at once; 0: one per hardware thread.
  bool fold_constants = true;   // Fold constant subgraphs into initializers when a session is created.
  bool measure_choice = true;   // Keep a compiled cluster only where it measures faster than the kernels.
  bool winograd = true;         // 3x3 stride-1 f32 convolutions on oneDNN's Winograd algorithm (kiln/support/winograd.h).
};

struct FlagInfo {
  std::string name;
  std::string default_value;
  std::string help;
};

// Parses a KILN_FLAGS string such as "--auto_jit=2 --dump_to=hlo-dump". A token that is not
// --name=value, an unknown name, a missing value or a bad value is an InvalidArgument error that names
// the token and lists the known flags.
absl::StatusOr<Flags> ParseFlags(std::string_view text);

// The flags from the KILN_FLAGS environment variable, parsed once on first use: the defaults when it
// is unset, ParseFlags' error when it is malformed. Session::Create and Session::Load return that
// error, so a malformed KILN_FLAGS stops a program instead of running it with other settings.
// Thread-safe.
const absl::StatusOr<Flags>& EnvFlags();

// EnvFlags()' value, or the defaults when KILN_FLAGS is malformed. For code that runs inside a Session
// (which cannot be created with a malformed KILN_FLAGS); anything else checks EnvFlags() first.
const Flags& GetFlags();

// Every flag with its default and help text (for `kiln flags` and docs/flags.md).
const std::vector<FlagInfo>& ListFlags();

}  // namespace kiln

#endif  // KILN_SUPPORT_FLAGS_H_
