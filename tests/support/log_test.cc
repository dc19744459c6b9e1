// The logging sink (kiln/support/log.h): messages reach the installed sink, from several threads, and
// the previous sink comes back to be restored.
#include "kiln/support/log.h"

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/support/status.h"

namespace kiln {
namespace {

TEST(LogTest, MessagesReachTheInstalledSinkAndThePreviousOneIsReturned) {
  std::mutex mu;
  std::vector<std::pair<LogSeverity, std::string>> got;
  LogSink previous = SetLogSink([&](LogSeverity s, std::string_view m) {
    std::lock_guard<std::mutex> lock(mu);
    got.emplace_back(s, std::string(m));
  });
  EXPECT_TRUE(static_cast<bool>(previous));  // The default stderr sink.
  Log(LogSeverity::kWarning, "cluster abc runs with the runtime kernels");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([] { Log(LogSeverity::kInfo, "compiled"); });
  for (std::thread& t : threads) t.join();
  SetLogSink(nullptr);
  Log(LogSeverity::kError, "dropped");  // A null sink drops messages.
  SetLogSink(previous);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].first, LogSeverity::kWarning);
  EXPECT_EQ(got[0].second, "cluster abc runs with the runtime kernels");
  for (size_t i = 1; i < got.size(); ++i) EXPECT_EQ(got[i].second, "compiled");
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// A broken invariant reports through the logging sink (the default one writes "kiln: ..." to
// stderr), naming the file, the condition and the message, then aborts.
TEST(LogDeathTest, CheckFailureGoesThroughTheSinkThenAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(KILN_CHECK(1 + 1 == 3, std::string("arithmetic is broken")),
               "kiln: .*log_test.cc:[0-9]+: check failed: 1 \\+ 1 == 3: arithmetic is broken");
}

}  // namespace
}  // namespace kiln
