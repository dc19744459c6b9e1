// Output folders checked before a run, and file writes whose errors give the OS's reason.
#include "kiln/support/files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace kiln {
namespace {

namespace fs = std::filesystem;

class FilesTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("kiln_files_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "file") << "x";
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(FilesTest, CreatesAMissingFolderAndItsParents) {
  EXPECT_TRUE(CheckOutputFolder(Path("a/b/c"), /*create=*/true, "--output-dir").ok());
  EXPECT_TRUE(fs::is_directory(Path("a/b/c")));
  EXPECT_TRUE(CheckOutputFolder(Path("a/b/c"), /*create=*/false, "--output-dir").ok());
}

TEST_F(FilesTest, FolderErrorsNameTheFolderAndGiveTheReason) {
  absl::Status missing = CheckOutputFolder(Path("absent"), /*create=*/false, "output folder");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "output folder '" + Path("absent") +
                                   "' cannot be used: No such file or directory; create the folder first");

  absl::Status file = CheckOutputFolder(Path("file"), /*create=*/true, "--output-dir");
  EXPECT_EQ(file.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(file.message(),
            "--output-dir '" + Path("file") + "' is not a folder; name a folder (it is created when missing)");

  // A parent that is a file: neither usable nor creatable.
  absl::Status below_file = CheckOutputFolder(Path("file/sub"), /*create=*/true, "--dump_to folder");
  EXPECT_EQ(below_file.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(below_file.message(), "--dump_to folder '" + Path("file/sub") + "' cannot be used: Not a directory");

  absl::Status empty = CheckOutputFolder("", /*create=*/true, "--output-dir");
  EXPECT_EQ(empty.message(), "--output-dir is empty; name a folder");
}

TEST_F(FilesTest, ReadOnlyFolderIsRefused) {
  if (geteuid() == 0) GTEST_SKIP() << "root may write into any folder";
  fs::create_directories(Path("ro"));
  fs::permissions(Path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  absl::Status ro = CheckOutputFolder(Path("ro"), /*create=*/true, "--output-dir");
  EXPECT_EQ(ro.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ro.message(), "--output-dir '" + Path("ro") +
                              "' is not writable: Permission denied; choose a folder you can write to");
  absl::Status below = CheckOutputFolder(Path("ro/new"), /*create=*/true, "--output-dir");
  EXPECT_EQ(below.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(below.message(), "--output-dir '" + Path("ro/new") +
                                 "' cannot be created: Permission denied; choose a folder you can write to");
}

TEST_F(FilesTest, WritesBytesAndReportsWhyAWriteFails) {
  ASSERT_TRUE(WriteFileBytes(Path("out.bin"), std::string("ab\0c", 4), "model").ok());
  std::ifstream in(Path("out.bin"), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  EXPECT_EQ(bytes.str(), std::string("ab\0c", 4));

  absl::Status missing = WriteFileBytes(Path("absent/out.bin"), "x", "model");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "model '" + Path("absent/out.bin") + "' cannot be written: No such file or directory");
  absl::Status folder = WriteFileBytes(dir_.string(), "x", ".npy file");
  EXPECT_EQ(folder.message(), ".npy file '" + dir_.string() + "' cannot be written: Is a directory");
}

}  // namespace
}  // namespace kiln
