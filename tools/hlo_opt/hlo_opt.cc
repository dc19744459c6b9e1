// hlo-opt: parses an HLO text module, runs the named passes, prints the result.
//
//   hlo-opt FILE --passes=constant-folding,dce [--fixed-point[=N]] [--check[=TRIALS]]
//           [--tolerance=REL] [--split-input-file] [--no-verify] [--emit-proto=OUT]
//           [--dump-to=DIR]
//   hlo-opt FILE --pipeline=cpu|target-independent [...]
//   hlo-opt --list-passes
//
// --pipeline runs a production pipeline as the compiler does: `target-independent` is the prefix
// every backend starts with (AddTargetIndependentPasses), `cpu` the CPU backend's whole pipeline
// (BuildCpuPipeline: the prefix, layout assignment, cpu-fusion, dce). --fixed-point runs the
// --passes list as PassFix<Pipeline> (at most N runs, default 16). --dump-to writes the module
// before the first pass and after every pass that changed it into the existing folder DIR.
// FILE "-" reads standard input. A FILE whose name ends in ".pb" holds a module in Kiln's binary
// form (kiln/hlo/serialization.h) instead of text. --emit-proto=OUT also writes the resulting
// module in the binary form to OUT (one module: not with --split-input-file). An empty pass list
// (--passes=) runs no pass: it verifies and prints, or converts between the two forms. With --split-input-file the input is split at lines "// -----"
// and each part is processed on its own (outputs separated by the same line), as MLIR's tools do.
// --check evaluates the module before and after the passes with the reference interpreter on
// random arguments and fails when the results differ (bit for bit, or within --tolerance).
// Errors name the file and line (parse errors), the pass (pass failures) or the differing element
// (--check); the exit status is 1 for errors, 2 for bad usage.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "kiln/support/files.h"
#include "kiln/hlo/parser.h"
#include "kiln/hlo/passes.h"
#include "kiln/hlo/serialization.h"
#include "kiln/hlo/verifier.h"
#include "backends/cpu/cpu_pipeline.h"

namespace {

using kiln::hlo::Module;

constexpr std::string_view kSplitMarker = "// -----";

struct Options {
  std::string file;
  std::string passes;
  bool passes_given = false;
  std::string pipeline;  // --pipeline: "cpu" or "target-independent"; empty: --passes.
  std::string dump_to;
  int iterations = 0;    // 0: run --passes once; N: to a fixed point, at most N runs.
  int check_trials = 0;
  double tolerance = 0;
  bool split = false;
  bool verify = true;
  std::string emit_proto;  // Empty: text to stdout only.
};

int Usage(const std::string& problem) {
  std::cerr << "hlo-opt: " << problem << "\n"
            << "usage: hlo-opt FILE --passes=NAME[,NAME...] [--fixed-point[=N]]\n"
            << "               [--check[=TRIALS]] [--tolerance=REL] [--split-input-file]\n"
            << "               [--no-verify] [--emit-proto=OUT] [--dump-to=DIR]\n"
            << "       hlo-opt FILE --pipeline=cpu|target-independent [options]\n"
            << "       hlo-opt --list-passes\n";
  return 2;
}

void ListPasses() {
  for (const kiln::hlo::PassInfo& p : kiln::hlo::RegisteredPasses()) {
    std::cout << p.name << "\t" << p.description << "\n";
  }
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Rewrites the parser's "HLO text line N: what" as "FILE:LINE: what", LINE counted in the file.
std::string ParseError(const Options& o, int first_line, const absl::Status& s) {
  std::string m(s.message());
  const std::string prefix = "HLO text line ";
  if (StartsWith(m, prefix)) {
    size_t colon = m.find(':', prefix.size());
    int line = 0;
    if (colon != std::string::npos &&
        absl::SimpleAtoi(m.substr(prefix.size(), colon - prefix.size()), &line)) {
      return o.file + ":" + std::to_string(first_line + line - 1) + ": error:" +
             m.substr(colon + 1);
    }
  }
  return o.file + ":" + std::to_string(first_line) + ": error: " + m;
}

// The pipeline the options name: a production one (--pipeline) or the --passes list.
absl::StatusOr<std::unique_ptr<kiln::hlo::Pipeline>> MakePipeline(const Options& o) {
  kiln::hlo::PipelineOptions options{.verify_after_each_pass = o.verify, .dump_to = o.dump_to};
  if (o.pipeline == "cpu") return kiln::cpu::BuildCpuPipeline(options);
  if (o.pipeline == "target-independent") {
    auto pipeline = std::make_unique<kiln::hlo::Pipeline>("target-independent", options);
    kiln::hlo::AddTargetIndependentPasses(*pipeline);
    return pipeline;
  }
  return kiln::hlo::CreatePipeline(o.passes, options, o.iterations);
}

// Processes one module's text (starting at `first_line` of the file); prints the result to
// stdout or an error to stderr. Returns whether it succeeded.
// `binary`: the text is a serialized module (a .pb file).
bool Process(const Options& o, const std::string& text, int first_line, bool binary) {
  absl::StatusOr<std::unique_ptr<Module>> parsed =
      binary ? kiln::hlo::DeserializeModule(text) : kiln::hlo::ParseModule(text);
  if (!parsed.ok()) {
    std::cerr << (binary ? o.file + ": error: " + std::string(parsed.status().message())
                         : ParseError(o, first_line, parsed.status()))
              << "\n";
    return false;
  }
  std::unique_ptr<Module> module = *std::move(parsed);
  const std::string where = o.file + ":" + std::to_string(first_line);
  if (absl::Status s = kiln::hlo::VerifyModule(*module); !s.ok()) {
    std::cerr << where << ": error: invalid module: " << s.message() << "\n";
    return false;
  }
  std::unique_ptr<Module> before = o.check_trials > 0 ? module->Clone() : nullptr;
  if (!o.passes.empty() || !o.pipeline.empty()) {
    absl::StatusOr<std::unique_ptr<kiln::hlo::Pipeline>> pipeline = MakePipeline(o);
    if (!pipeline.ok()) {
      std::cerr << "hlo-opt: " << pipeline.status().message() << "\n";
      return false;
    }
    if (absl::StatusOr<bool> r = (*pipeline)->Run(module.get()); !r.ok()) {
      std::cerr << where << ": error: " << r.status().message() << "\n";
      return false;
    }
  }
  if (before != nullptr) {
    kiln::hlo::EquivalenceOptions eq{.trials = o.check_trials, .relative_tolerance = o.tolerance,
                                     .absolute_tolerance = o.tolerance};
    if (absl::Status s = kiln::hlo::CheckEquivalent(*before, *module, eq); !s.ok()) {
      std::cerr << where << ": error: --check: results changed: " << s.message() << "\n";
      return false;
    }
  }
  if (!o.emit_proto.empty()) {
    absl::StatusOr<std::string> bytes = kiln::hlo::SerializeModule(*module);
    std::ofstream out(o.emit_proto, std::ios::binary);
    if (!bytes.ok() || !out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()))) {
      std::cerr << "hlo-opt: cannot write " << o.emit_proto << ": "
                << (bytes.ok() ? "write failed" : std::string(bytes.status().message())) << "\n";
      return false;
    }
  }
  std::cout << module->ToString();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--list-passes") {
      ListPasses();
      return 0;
    } else if (StartsWith(a, "--passes=")) {
      o.passes = a.substr(9);
      o.passes_given = true;
    } else if (StartsWith(a, "--pipeline=")) {
      o.pipeline = a.substr(11);
      if (o.pipeline != "cpu" && o.pipeline != "target-independent") {
        return Usage("--pipeline is cpu or target-independent, not '" + o.pipeline + "'");
      }
    } else if (StartsWith(a, "--dump-to=")) {
      o.dump_to = a.substr(10);
      if (o.dump_to.empty()) return Usage("--dump-to needs a folder");
    } else if (a == "--fixed-point") {
      o.iterations = 16;
    } else if (StartsWith(a, "--fixed-point=")) {
      if (!absl::SimpleAtoi(a.substr(14), &o.iterations) || o.iterations < 1) {
        return Usage("--fixed-point needs a positive count");
      }
    } else if (a == "--check") {
      o.check_trials = 3;
    } else if (StartsWith(a, "--check=")) {
      if (!absl::SimpleAtoi(a.substr(8), &o.check_trials) || o.check_trials < 1) {
        return Usage("--check needs a positive number of trials");
      }
    } else if (StartsWith(a, "--tolerance=")) {
      if (!absl::SimpleAtod(a.substr(12), &o.tolerance) || o.tolerance < 0) {
        return Usage("--tolerance needs a non-negative number");
      }
    } else if (a == "--split-input-file") {
      o.split = true;
    } else if (a == "--no-verify") {
      o.verify = false;
    } else if (StartsWith(a, "--emit-proto=")) {
      o.emit_proto = a.substr(13);
      if (o.emit_proto.empty()) return Usage("--emit-proto needs a file name");
    } else if (a == "-" || !StartsWith(a, "-")) {
      if (!o.file.empty()) return Usage("more than one input file");
      o.file = a;
    } else {
      return Usage("unknown option " + a);
    }
  }
  if (o.file.empty()) return Usage("no input file");
  if (o.passes_given == !o.pipeline.empty()) return Usage("give either --passes or --pipeline");
  if (o.iterations > 0 && !o.pipeline.empty()) {
    return Usage("--fixed-point applies to --passes; the pipelines fix their own loops");
  }
  if (!o.dump_to.empty()) {
    if (absl::Status s = kiln::CheckOutputFolder(o.dump_to, /*create=*/true, "--dump-to folder");
        !s.ok()) {
      std::cerr << "hlo-opt: " << s.message() << "\n";
      return 1;
    }
  }
  const bool binary = o.file.size() > 3 && o.file.compare(o.file.size() - 3, 3, ".pb") == 0;
  if (!o.emit_proto.empty() && o.split) return Usage("--emit-proto takes one module, not --split-input-file");
  if (binary && o.split) return Usage("--split-input-file splits text, not a binary .pb module");
  // Check the pass list before reading anything, so a typo fails fast with the known names.
  if (auto p = kiln::hlo::CreatePipeline(o.passes); !o.passes.empty() && !p.ok()) {
    std::cerr << "hlo-opt: " << p.status().message() << "\n";
    return 1;
  }

  std::stringstream buffer;
  if (o.file == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) {
      std::cerr << "hlo-opt: cannot open " << o.file << "\n";
      return 1;
    }
    buffer << in.rdbuf();
  }

  if (binary) return Process(o, buffer.str(), 1, true) ? 0 : 1;

  // Split into parts (a single part without --split-input-file).
  std::vector<std::pair<std::string, int>> parts = {{"", 1}};
  std::string line;
  int line_number = 0;
  while (std::getline(buffer, line)) {
    ++line_number;
    if (o.split && line.rfind(kSplitMarker, 0) == 0) {
      parts.push_back({"", line_number + 1});
      continue;
    }
    parts.back().first += line + "\n";
  }
  bool ok = true;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) std::cout << kSplitMarker << "\n";
    ok &= Process(o, parts[i].first, parts[i].second, false);
  }
  return ok ? 0 : 1;
}
