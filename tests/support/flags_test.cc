#include "kiln/support/flags.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(FlagsTest, ParsesEveryFlag) {
  absl::StatusOr<Flags> f =
      ParseFlags("--auto_jit=2  --min_cluster_size=4 --dump_to=out/d --backend=interpreter --log_compiles");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->auto_jit, 2);
  EXPECT_EQ(f->min_cluster_size, 4);
  EXPECT_TRUE(f->fold_constants);
  absl::StatusOr<Flags> off = ParseFlags("--fold_constants=false");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->fold_constants);
  EXPECT_TRUE(f->measure_choice);
  absl::StatusOr<Flags> measured = ParseFlags("--measure_choice=0");
  ASSERT_TRUE(measured.ok()) << measured.status();
  EXPECT_FALSE(measured->measure_choice);
  EXPECT_TRUE(f->winograd);
  absl::StatusOr<Flags> direct = ParseFlags("--winograd=false");
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_FALSE(direct->winograd);
  EXPECT_EQ(f->dump_to, "out/d");
  EXPECT_EQ(f->backend, "interpreter");
  EXPECT_TRUE(f->log_compiles);
}

TEST(FlagsTest, DefaultsWhenEmpty) {
  absl::StatusOr<Flags> f = ParseFlags("");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->auto_jit, 0);
  EXPECT_EQ(f->backend, "cpu");
}

// Each error names the token and lists every flag, so the user can fix KILN_FLAGS without a manual.
TEST(FlagsTest, RejectsUnknownAndMalformedNamingTheFlagAndListingTheValidOnes) {
  const std::string known =
      "; the flags are --auto_jit, --min_cluster_size, --dump_to, --backend, --log_compiles, --inter_op_threads, "
      "--fold_constants, --measure_choice, --winograd (`kiln flags` describes them)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--auto_jit=2 --auto_jt=1", "KILN_FLAGS: unknown flag --auto_jt"},
      {"--auto_jit=3", "KILN_FLAGS: --auto_jit takes an integer in 0..2, got '3'"},
      {"--auto_jit=two", "KILN_FLAGS: --auto_jit takes an integer in 0..2, got 'two'"},
      {"--auto_jit", "KILN_FLAGS: --auto_jit needs a value (--auto_jit=VALUE)"},
      {"auto_jit=1", "KILN_FLAGS: 'auto_jit=1' is not a flag; write --name=value"},
      {"--fold_constants=maybe", "KILN_FLAGS: --fold_constants takes true, false, 1 or 0, got 'maybe'"},
      {"--measure_choice=often", "KILN_FLAGS: --measure_choice takes true, false, 1 or 0, got 'often'"},
      {"--min_cluster_size=x", "KILN_FLAGS: --min_cluster_size takes an integer in 1..2147483647, got 'x'"},
      {"--min_cluster_size=0", "KILN_FLAGS: --min_cluster_size takes an integer in 1..2147483647, got '0'"},
      {"--inter_op_threads=-1", "KILN_FLAGS: --inter_op_threads takes an integer in 0..2147483647, got '-1'"},
      {"--log_compiles=yes", "KILN_FLAGS: --log_compiles takes true, false, 1 or 0, got 'yes'"},
      {"--backend=", "KILN_FLAGS: --backend needs a backend name, e.g. --backend=cpu"},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<Flags> f = ParseFlags(text);
    ASSERT_FALSE(f.ok()) << text;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(f.status().message(), message + known) << text;
  }
  absl::StatusOr<Flags> off = ParseFlags("--log_compiles=false --dump_to=");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->log_compiles);
  EXPECT_EQ(off->dump_to, "");
}

TEST(FlagsTest, ListsEveryParsedFlag) {
  for (const FlagInfo& info : ListFlags()) {
    std::string text = "--" + info.name + "=" + (info.default_value.empty() ? "x" : info.default_value);
    EXPECT_TRUE(ParseFlags(text).ok()) << text;
  }
}

}  // namespace
}  // namespace kiln
