#include "kiln/support/flags.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(FlagsTest, ParsesEveryFlag) {
  absl::StatusOr<Flags> f =
      ParseFlags("--auto_jit=2  --min_cluster_size=4 --dump_to=out/d --backend=interpreter --log_compiles");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->auto_jit, 2);
  EXPECT_EQ(f->min_cluster_size, 4);
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

TEST(FlagsTest, RejectsUnknownAndMalformed) {
  absl::StatusOr<Flags> unknown = ParseFlags("--auto_jt=1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown flag --auto_jt"), absl::string_view::npos);
  absl::StatusOr<Flags> bad = ParseFlags("--auto_jit=3");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("0, 1 or 2"), absl::string_view::npos);
  EXPECT_FALSE(ParseFlags("auto_jit=1").ok());
  EXPECT_FALSE(ParseFlags("--min_cluster_size=x").ok());
}

TEST(FlagsTest, ListsEveryParsedFlag) {
  for (const FlagInfo& info : ListFlags()) {
    std::string text = "--" + info.name + "=" + (info.default_value.empty() ? "x" : info.default_value);
    EXPECT_TRUE(ParseFlags(text).ok()) << text;
  }
}

}  // namespace
}  // namespace kiln
