// The `kiln` command line, as functions a test can call in-process.
//
//   kiln run MODEL [--input NAME=FILE.npy ...] [--output-dir DIR] [--json] [--repeat N]
//   kiln run MODEL --image FILE.jpg [--top K] [--labels FILE] [--scale S] [--offset O]
//                  [--layout nchw|nhwc] [--json] [--repeat N]
//   kiln bench MODEL [--input NAME=FILE.npy ...] [--threads N] [--repeat R] [--warmup W] [--seed S] [--json]
//   kiln info MODEL [--memory]
//   kiln convert MODEL OUTPUT.kiln
//   kiln flags
//
// Settings of the runtime and JIT come from the KILN_FLAGS environment variable (`kiln flags`).
#ifndef KILN_TOOLS_KILN_CLI_H_
#define KILN_TOOLS_KILN_CLI_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kiln::cli {

// Exit codes of Main.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // The command failed: "kiln: <status message>" on `err`.
constexpr int kExitUsage = 2;  // Bad command line (the usage text on `err`) or a malformed KILN_FLAGS.

// Runs the command line `args` (args[0] is the program name). Results go to `out`, errors and
// usage to `err`. Returns one of the exit codes above.
int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The usage text.
std::string Usage();

// A usage error: Main prints the message and the usage text and returns kExitUsage.
absl::Status UsageError(const std::string& message);
bool IsUsageError(const absl::Status& status);

// One subcommand each; `args` are the arguments after the subcommand name.
absl::Status RunCommand(const std::vector<std::string>& args, std::ostream& out);
absl::Status BenchCommand(const std::vector<std::string>& args, std::ostream& out);
absl::Status InfoCommand(const std::vector<std::string>& args, std::ostream& out);
absl::Status FlagsCommand(const std::vector<std::string>& args, std::ostream& out);
absl::Status ConvertCommand(const std::vector<std::string>& args, std::ostream& out);

// Turns a value name into a file name: characters outside [A-Za-z0-9._-] become '_'; an empty
// result, "." or ".." becomes "output".
std::string SanitizeFileName(const std::string& name);

}  // namespace kiln::cli

#endif  // KILN_TOOLS_KILN_CLI_H_
