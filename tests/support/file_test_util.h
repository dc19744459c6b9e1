// Helpers for tests that make files (private to tests/): a scratch folder, whole-file writes, and a
// watchdog for code that must not block.
#ifndef KILN_TESTS_SUPPORT_FILE_TEST_UTIL_H_
#define KILN_TESTS_SUPPORT_FILE_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace kiln::testing_util {

// A fresh folder under the test's temporary folder, by its canonical path (so that expected
// messages can name it), removed at destruction.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("kiln_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
    path_ = std::filesystem::canonical(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// Writes `bytes` to `path`, replacing it.
inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs `body` under a watchdog: code that blocks (a FIFO opened for reading, say) ends the test
// with SIGALRM after `seconds` instead of hanging CI.
template <typename F>
void WithinSeconds(unsigned seconds, F body) {
  ::alarm(seconds);
  body();
  ::alarm(0);
}

}  // namespace kiln::testing_util

#endif  // KILN_TESTS_SUPPORT_FILE_TEST_UTIL_H_
