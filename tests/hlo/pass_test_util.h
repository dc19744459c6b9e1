// Shared by the pass tests: parse HLO text, run a pass, verify, and compare the module before and
// after with the reference interpreter on random arguments.
#ifndef KILN_TESTS_HLO_PASS_TEST_UTIL_H_
#define KILN_TESTS_HLO_PASS_TEST_UTIL_H_

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kiln/hlo/parser.h"
#include "kiln/hlo/passes.h"
#include "kiln/hlo/verifier.h"
#include "kiln/support/status.h"

namespace kiln::hlo::testing {

inline std::unique_ptr<Module> ParseOrDie(const std::string& text) {
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
  KILN_CHECK(m.ok(), std::string(m.status().message()));
  absl::Status v = VerifyModule(**m);
  KILN_CHECK(v.ok(), std::string(v.message()));
  return *std::move(m);
}

struct PassRun {
  bool changed = false;
  std::string text;                // The module printed after the pass.
  std::unique_ptr<Module> module;  // The module after the pass.
};

// Parses `text`, runs `pass`, verifies the result and checks with the interpreter that it
// computes what the input computed (`eq`; skipped when eq.trials == 0). Test failures are
// reported through gtest; the returned text is empty when the pass failed.
inline PassRun RunPass(Pass& pass, const std::string& text, EquivalenceOptions eq = {}) {
  PassRun run;
  std::unique_ptr<Module> before = ParseOrDie(text);
  run.module = before->Clone();
  absl::StatusOr<bool> changed = pass.Run(run.module.get());
  EXPECT_TRUE(changed.ok()) << pass.name() << ": " << changed.status();
  if (!changed.ok()) return run;
  run.changed = *changed;
  absl::Status verified = VerifyModule(*run.module);
  EXPECT_TRUE(verified.ok()) << pass.name() << " left an invalid module: " << verified << "\n"
                             << run.module->ToString();
  if (eq.trials > 0 && verified.ok()) {
    absl::Status same = CheckEquivalent(*before, *run.module, eq);
    EXPECT_TRUE(same.ok()) << pass.name() << " changed the results: " << same << "\n"
                           << run.module->ToString();
  }
  run.text = run.module->ToString();
  return run;
}

// The module text of an entry computation with the given body (instruction lines).
inline std::string Entry(const std::string& body) {
  return "HloModule test\n\nENTRY %main {\n" + body + "}\n";
}

// The ROOT line of the entry computation in printed module text ("" when there is none).
inline std::string RootLine(const std::string& text) {
  size_t entry = text.find("ENTRY");
  size_t root = entry == std::string::npos ? entry : text.find("ROOT", entry);
  if (root == std::string::npos) return "";
  return text.substr(root, text.find('\n', root) - root);
}

}  // namespace kiln::hlo::testing

#endif  // KILN_TESTS_HLO_PASS_TEST_UTIL_H_
