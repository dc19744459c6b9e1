// Safe file reading (kiln/support/read_file.h): only regular files, never a blocking open, byte
// ranges within the file, and model-relative paths that stay inside the model's folder.
#include "kiln/support/read_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include "tests/support/file_test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using testing_util::TempDir;
using testing_util::WithinSeconds;
using testing_util::WriteFile;

TEST(ReadFileTest, ReadsWholeFilesAndRanges) {
  TempDir dir;
  WriteFile(dir.File("a.bin"), "0123456789");
  absl::StatusOr<std::string> all = ReadRegularFile(dir.File("a.bin"), "data");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, "0123456789");
  absl::StatusOr<std::string> part = ReadRegularFile(dir.File("a.bin"), "data", {.offset = 3, .length = 4});
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(*part, "3456");
  absl::StatusOr<std::string> tail = ReadRegularFile(dir.File("a.bin"), "data", {.offset = 7});
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(*tail, "789");
  WriteFile(dir.File("empty"), "");
  EXPECT_EQ(*ReadRegularFile(dir.File("empty"), "data"), "");
}

TEST(ReadFileTest, RangesAndSizesAreBoundedBeforeReading) {
  TempDir dir;
  const std::string path = dir.File("a.bin");
  WriteFile(path, "0123456789");
  absl::Status past = ReadRegularFile(path, "data", {.offset = 8, .length = 4}).status();
  EXPECT_EQ(past.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(past.message(), "data '" + path + "': 4 bytes at offset 8 lie beyond the end of the file (10 bytes)");
  absl::Status huge = ReadRegularFile(path, "data", {.offset = 2, .length = INT64_MAX}).status();
  EXPECT_EQ(huge.message(), "data '" + path + "': " + std::to_string(INT64_MAX) +
                                " bytes at offset 2 lie beyond the end of the file (10 bytes)");
  EXPECT_EQ(ReadRegularFile(path, "data", {.offset = 11}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadRegularFile(path, "data", {.offset = -1}).status().code(), absl::StatusCode::kInvalidArgument);

  absl::Status big = ReadRegularFile(path, "model", {.max_bytes = 9, .too_large_advice = " (advice)"}).status();
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(big.message(), "model '" + path + "' is 10 bytes; Kiln reads files of at most 9 bytes here (advice)");
  absl::Status big_range = ReadRegularFile(path, "data", {.max_bytes = 3, .offset = 1, .length = 4}).status();
  EXPECT_EQ(big_range.message(), "data '" + path + "': a read of 4 bytes is over the limit of 3 bytes");
}

TEST(ReadFileTest, MissingAndUnreadablePathsGiveTheReason) {
  TempDir dir;
  const std::string missing = dir.File("absent.onnx");
  absl::Status read = ReadRegularFile(missing, "model").status();
  EXPECT_EQ(read.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(read.message(), "model '" + missing + "' cannot be opened: No such file or directory");
  absl::Status check = CheckRegularFile(missing, "model");
  EXPECT_EQ(check.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(check.message(), "model '" + missing + "' cannot be opened: No such file or directory");

  const std::string through_file = dir.File("a.bin") + "/x";
  WriteFile(dir.File("a.bin"), "x");
  EXPECT_EQ(ReadRegularFile(through_file, "model").status().message(),
            "model '" + through_file + "' cannot be opened: Not a directory");

  if (geteuid() != 0) {  // root reads anything.
    const std::string locked = dir.File("locked.bin");
    WriteFile(locked, "secret");
    ASSERT_EQ(chmod(locked.c_str(), 0), 0);
    absl::Status denied = ReadRegularFile(locked, "model").status();
    EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(denied.message(), "model '" + locked + "' cannot be opened: Permission denied");
  }
}

TEST(ReadFileTest, DirectoriesAreRefused) {
  TempDir dir;
  // A folder opens (O_RDONLY) and its st_size is meaningless: it must be refused, not "read".
  absl::Status read = ReadRegularFile(dir.path(), "weight shard").status();
  EXPECT_EQ(read.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(read.message(), "weight shard '" + dir.path() + "' is a directory");
  EXPECT_EQ(CheckRegularFile(dir.path(), "model").message(), "model '" + dir.path() + "' is a directory");
}

TEST(ReadFileTest, FifosAndDevicesAreRefusedWithoutBlocking) {
  TempDir dir;
  const std::string fifo = dir.File("shard.bin");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  WithinSeconds(20, [&] {
    // No writer ever opens the FIFO: a blocking open would wait forever.
    absl::Status read = ReadRegularFile(fifo, "weight shard").status();
    EXPECT_EQ(read.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(read.message(), "weight shard '" + fifo + "' is not a regular file (FIFO)");
    EXPECT_EQ(CheckRegularFile(fifo, "model").message(), "model '" + fifo + "' is not a regular file (FIFO)");
    EXPECT_EQ(ReadRegularFile("/dev/zero", "image file").status().message(),
              "image file '/dev/zero' is not a regular file (character device)");
  });
}

TEST(ResolvePathInsideTest, PathsInsideTheFolderResolve) {
  TempDir dir;
  fs::create_directories(dir.File("sub"));
  WriteFile(dir.File("sub/w.bin"), "w");
  EXPECT_EQ(*ResolvePathInside(dir.path(), "sub/w.bin", "weight shard"), dir.File("sub/w.bin"));
  EXPECT_EQ(*ResolvePathInside(dir.path(), "sub/../sub/./w.bin", "weight shard"), dir.File("sub/w.bin"));
  // The file need not exist (the read reports that), and a symlink inside the folder is fine.
  EXPECT_EQ(*ResolvePathInside(dir.path(), "later.bin", "weight shard"), dir.File("later.bin"));
  fs::create_symlink("sub/w.bin", dir.File("link.bin"));
  EXPECT_EQ(*ResolvePathInside(dir.path(), "link.bin", "weight shard"), dir.File("sub/w.bin"));
  // A relative folder, and "" for the working directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  EXPECT_EQ(*ResolvePathInside("", "sub/w.bin", "weight shard"), dir.File("sub/w.bin"));
  EXPECT_EQ(*ResolvePathInside("sub", "w.bin", "weight shard"), dir.File("sub/w.bin"));
  fs::current_path(cwd);
}

TEST(ResolvePathInsideTest, PathsLeavingTheFolderAreRefused) {
  TempDir dir;
  const std::string model_dir = dir.File("model");
  fs::create_directories(model_dir);
  WriteFile(dir.File("secret.txt"), "secret");
  fs::create_directories(dir.File("model2"));
  auto refusal = [&](const std::string& written, const std::string& target) {
    return "weight shard '" + written + "' leads to '" + target + "', outside the model's folder '" + model_dir +
           "'; paths in a model must stay inside its folder (no '..' or symlink out of it)";
  };
  absl::Status up = ResolvePathInside(model_dir, "../../../../etc/passwd", "weight shard").status();
  EXPECT_EQ(up.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(up.message(), refusal("../../../../etc/passwd", "/etc/passwd"));
  EXPECT_EQ(ResolvePathInside(model_dir, "../secret.txt", "weight shard").status().message(),
            refusal("../secret.txt", dir.File("secret.txt")));
  // Through a folder that does not exist, and into a sibling whose name extends the folder's.
  EXPECT_EQ(ResolvePathInside(model_dir, "missing/../../secret.txt", "weight shard").status().message(),
            refusal("missing/../../secret.txt", dir.File("secret.txt")));
  EXPECT_EQ(ResolvePathInside(model_dir, "../model2/x", "weight shard").status().message(),
            refusal("../model2/x", dir.File("model2/x")));
  // Symlinks out of the folder: to a file, and to a folder.
  fs::create_symlink(dir.File("secret.txt"), model_dir + "/innocent.bin");
  EXPECT_EQ(ResolvePathInside(model_dir, "innocent.bin", "weight shard").status().message(),
            refusal("innocent.bin", dir.File("secret.txt")));
  fs::create_directory_symlink("/etc", model_dir + "/etc");
  EXPECT_EQ(ResolvePathInside(model_dir, "etc/passwd", "weight shard").status().message(),
            refusal("etc/passwd", "/etc/passwd"));

  absl::Status absolute = ResolvePathInside(model_dir, "/etc/passwd", "external data file").status();
  EXPECT_EQ(absolute.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(absolute.message(),
            "external data file '/etc/passwd' is an absolute path; paths in a model must be relative to the "
            "model's folder");
  EXPECT_EQ(ResolvePathInside(model_dir, "", "weight shard").status().message(), "weight shard is an empty path");
  EXPECT_EQ(ResolvePathInside(model_dir, std::string("a\0b", 3), "weight shard").status().message(),
            "weight shard 'a\\000b' contains a NUL byte");
  // The folder itself resolves (reading it then says "is a directory").
  EXPECT_EQ(*ResolvePathInside(model_dir, ".", "weight shard"), model_dir);
}

}  // namespace
}  // namespace kiln
