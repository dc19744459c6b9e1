// Running the kiln command line from the tests of tests/tools.
#ifndef KILN_TESTS_TOOLS_KILN_TEST_UTIL_H_
#define KILN_TESTS_TOOLS_KILN_TEST_UTIL_H_

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tools/kiln/cli.h"

namespace kiln {

struct Result {
  int code;
  std::string out, err;
};

// Runs `kiln args...` in-process (KILN_FLAGS as this test process has it).
inline Result Kiln(std::vector<std::string> args) {
  args.insert(args.begin(), "kiln");
  std::ostringstream out, err;
  const int code = cli::Main(args, out, err);
  return {code, out.str(), err.str()};
}

// The built `kiln` binary (build/tools/kiln, beside this test's build/tests folder); a test failure
// when it is missing.
inline std::filesystem::path KilnBinaryPath() {
  const std::filesystem::path binary =
      std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "kiln";
  EXPECT_TRUE(std::filesystem::exists(binary)) << binary << " is missing: build the 'kiln' target";
  return binary;
}

}  // namespace kiln

#endif  // KILN_TESTS_TOOLS_KILN_TEST_UTIL_H_
