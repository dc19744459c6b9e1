#include "kiln/support/log.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "kiln/support/strings.h"

namespace kiln {
namespace {

void StderrSink(LogSeverity, std::string_view message) {
  std::string line = "kiln: ";
  line.append(message);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

struct SinkState {
  std::mutex mu;
  // Shared so that a message being written keeps its sink alive while another thread replaces it.
  std::shared_ptr<const LogSink> sink = std::make_shared<const LogSink>(StderrSink);
};

SinkState& State() {
  static SinkState* state = new SinkState();
  return *state;
}

}  // namespace

LogSink SetLogSink(LogSink sink) {
  SinkState& state = State();
  auto next = std::make_shared<const LogSink>(std::move(sink));
  std::lock_guard<std::mutex> lock(state.mu);
  std::shared_ptr<const LogSink> previous = std::exchange(state.sink, std::move(next));
  return *previous;
}

void Log(LogSeverity severity, std::string_view message) {
  SinkState& state = State();
  std::shared_ptr<const LogSink> sink;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    sink = state.sink;
  }
  if (*sink) (*sink)(severity, message);
}

namespace internal {

void CheckFailed(const char* file, int line, const char* condition, std::string_view message) {
  Log(LogSeverity::kError, kiln::StrCat(file, ":", line, ": check failed: ", condition, ": ", std::string(message)));
  std::abort();
}

}  // namespace internal
}  // namespace kiln
