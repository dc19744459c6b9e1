// The op registry: a name registers once, and lookups are safe while another thread registers (the
// JIT's launch op is registered on first use, while other sessions may be looking ops up; run under
// the ThreadSanitizer build, docs/testing.md).
#include "kiln/runtime/op_registry.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "kiln/support/strings.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

OpDef Dummy(const std::string& name) {
  OpDef def;
  def.name = name;
  def.min_inputs = def.max_inputs = 1;
  return def;
}

TEST(OpRegistryTest, DuplicateNameIsRefusedAndTheFirstDefinitionStays) {
  RegisterStandardOps();
  OpRegistry& registry = OpRegistry::Global();
  const OpDef* relu = registry.Find("Relu");
  ASSERT_NE(relu, nullptr);
  absl::Status s = registry.Register(Dummy("Relu"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "op 'Relu' is already registered");
  EXPECT_EQ(registry.Find("Relu"), relu);
  EXPECT_TRUE(static_cast<bool>(relu->kernel_factory));
}

TEST(OpRegistryTest, LookupsWhileRegisteringFromAnotherThread) {
  RegisterStandardOps();
  OpRegistry& registry = OpRegistry::Global();
  constexpr int kReaders = 3;
  std::atomic<bool> done{false};
  std::atomic<int> started{0}, found{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&] {
      ++started;
      do {  // At least one round, however the threads are scheduled.
        found += registry.Find("Conv") != nullptr;
        found += registry.Find("_TestRegistryOp_7") != nullptr;
        (void)registry.OpNames().size();
      } while (!done.load());
    });
  }
  while (started.load() < kReaders) std::this_thread::yield();  // Register while they look up.
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(registry.Register(Dummy(kiln::StrCat("_TestRegistryOp_", i))).ok());
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_GE(found.load(), kReaders);  // Each reader found Conv at least once.
  EXPECT_NE(registry.Find("_TestRegistryOp_199"), nullptr);
}

}  // namespace
}  // namespace kiln
