// Dispatch, usage and `kiln flags`.
#include "tools/kiln/cli.h"

#include <cstdlib>

#include "absl/strings/cord.h"
#include "kiln/support/strings.h"
#include "kiln/support/flags.h"
#include "kiln/version.h"
#include "tools/kiln/args.h"

namespace kiln::cli {
namespace {

constexpr char kUsagePayload[] = "kiln.cli/usage";

}  // namespace

std::string Usage() {
  return R"(usage:
  kiln run MODEL [--input NAME=FILE.npy ...] [--output-dir DIR] [--json] [--repeat N]
      Runs the model on the given .npy inputs (one --input per model input, none for a model
      without inputs); prints each output's dtype and shape (JSON with
      --json) and writes it to DIR/<output name>.npy when --output-dir is given. --repeat N adds
      N timed steady runs after the first (default 0).
  kiln run MODEL --image FILE.jpg [--top K] [--labels FILE] [--scale S] [--offset O]
                 [--layout nchw|nhwc] [--max-image-pixels N] [--json] [--repeat N]
      Classifies a JPEG: decodes it, resizes it to the model input's height and width (antialiased
      bilinear, as Pillow's BILINEAR), feeds (pixel - O) / S (defaults 128, 128; layout NCHW, or
      NHWC when the input's last dimension is 3 and the second is not) and prints the top K (default
      5) classes. Labels default to imagenet_labels_1001.txt next to the model. Prints the time of
      the first run (which compiles when the JIT is on), the median of N steady runs (default 10)
      and the JIT's clusters and compilations. An image declaring more than N pixels (default
      100000000) is refused before it is decoded.
  kiln bench MODEL [--input NAME=FILE.npy ...] [--threads N] [--repeat R] [--warmup W] [--seed S]
                   [--json]
      Measures latency: one first run (which compiles when the JIT is on; loading the model is not
      timed), W warm-up runs (default 3), then R timed runs (default 20, at least 1); prints the
      first run, the median, p90, min and mean of the timed runs, the JIT's clusters, compilations
      and compile time, and the CPU (one JSON object with --json). Inputs without --input get random
      values of their declared shape and dtype, seeded by S (default 0): floats uniform in [-1,1),
      integers in [0,10), bools 0 or 1; an input whose shape is not static needs --input. --threads N
      sets OpenMP's thread count (oneDNN's intra-op threads) for the runs (default 1, overriding
      OMP_NUM_THREADS; 0 keeps OpenMP's own count). Threads that run nodes side by side are KILN_FLAGS'
      --inter_op_threads.
  kiln info MODEL [--memory]
      Prints the model's inputs, outputs, op histogram and the JIT's clusters. --memory adds the
      peak activation memory with the executor's memory plan and the sum of all activations.
  kiln convert MODEL OUTPUT.kiln
      Saves the model (any format Kiln imports) in Kiln's own format, then loads the file back
      and checks that it holds the same graph (docs/model_format.md).
  kiln flags
      Lists the settings KILN_FLAGS accepts, e.g. KILN_FLAGS="--auto_jit=2 --dump_to=hlo-dump".
  kiln --version
      Prints Kiln's version (part of every compilation-cache key).
)";
}

absl::Status UsageError(const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) { return status.GetPayload(kUsagePayload).has_value(); }

std::string SanitizeFileName(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (out.empty() || out == "." || out == "..") return "output";
  return out;
}

absl::Status FlagsCommand(const std::vector<std::string>& args, std::ostream& out) {
  if (!args.empty()) return UsageError("kiln flags takes no arguments");
  out << "KILN_FLAGS (space-separated --name=value):\n";
  for (const FlagInfo& flag : ListFlags()) {
    out << "  --" << flag.name << "=" << flag.default_value << "\n      " << flag.help << "\n";
  }
  const char* env = std::getenv("KILN_FLAGS");
  out << "current KILN_FLAGS: " << (env != nullptr ? kiln::StrCat("\"", env, "\"") : "(unset)") << "\n";
  return EnvFlags().status();
}

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() < 2) {
    err << Usage();
    return kExitUsage;
  }
  const std::string& command = args[1];
  if (command == "help" || command == "--help" || command == "-h") {
    out << Usage();
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    out << "kiln " << KILN_VERSION << "\n";
    return kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 2, args.end());
  absl::Status status;
  // A malformed KILN_FLAGS is a usage error of every command (`kiln flags` still lists the flags first).
  const absl::Status flags = EnvFlags().status();
  if (!flags.ok() && command != "flags") {
    status = flags;
  } else if (command == "run") {
    status = RunCommand(rest, out);
  } else if (command == "bench") {
    status = BenchCommand(rest, out);
  } else if (command == "info") {
    status = InfoCommand(rest, out);
  } else if (command == "convert") {
    status = ConvertCommand(rest, out);
  } else if (command == "flags") {
    status = FlagsCommand(rest, out);
  } else {
    status = UsageError(kiln::StrCat("unknown command '", command, "'"));
  }
  out.flush();
  if (status.ok()) return kExitOk;
  if (!flags.ok()) {
    err << "kiln: " << status.message() << "\n";
    return kExitUsage;
  }
  if (IsUsageError(status)) {
    err << "kiln: " << status.message() << "\n" << Usage();
    return kExitUsage;
  }
  err << "kiln: " << status.message() << "\n";
  return kExitError;
}

}  // namespace kiln::cli
