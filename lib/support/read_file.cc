#include "kiln/support/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "kiln/support/strings.h"
#include "kiln/support/status.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// Closes a file descriptor at scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

const char* KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  return "special file";
}

// `name` is "<what> '<path>'".
absl::Status CheckMode(mode_t mode, std::string_view name) {
  if (S_ISREG(mode)) return absl::OkStatus();
  if (S_ISDIR(mode)) return absl::InvalidArgumentError(kiln::StrCat(name, " is a directory"));
  return absl::InvalidArgumentError(kiln::StrCat(name, " is not a regular file (", KindOf(mode), ")"));
}

std::string Name(std::string_view what, std::string_view path) { return kiln::StrCat(what, " '", path, "'"); }

// A path as written in a model, with control bytes escaped so that the message stays one line.
std::string Printable(std::string_view path) {
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return absl::CEscape(AsAbsl(path));
  }
  return std::string(path);
}

}  // namespace

absl::Status CheckRegularFile(const std::string& path, std::string_view what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, kiln::StrCat(Name(what, path), " cannot be opened"));
  }
  return CheckMode(st.st_mode, Name(what, path));
}

absl::StatusOr<std::string> ReadRegularFile(const std::string& path, std::string_view what,
                                            const ReadFileOptions& options) {
  const std::string name = Name(what, path);
  if (options.offset < 0 || options.length < -1) {
    return absl::InvalidArgumentError(
        kiln::StrCat(name, ": invalid byte range (offset ", options.offset, ", length ", options.length, ")"));
  }
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever. It has no effect on
  // the regular files that are read below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return absl::ErrnoToStatus(errno, kiln::StrCat(name, " cannot be opened"));
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, kiln::StrCat(name, " cannot be read"));
  KILN_RETURN_IF_ERROR(CheckMode(st.st_mode, name));
  const int64_t size = st.st_size;
  if (options.offset > size || (options.length >= 0 && options.length > size - options.offset)) {
    return absl::InvalidArgumentError(kiln::StrCat(name, ": ", options.length < 0 ? 0 : options.length,
                                                   " bytes at offset ", options.offset,
                                                   " lie beyond the end of the file (", size, " bytes)"));
  }
  const int64_t length = options.length < 0 ? size - options.offset : options.length;
  if (length > options.max_bytes) {
    if (options.offset == 0 && options.length < 0) {
      return absl::InvalidArgumentError(kiln::StrCat(name, " is ", size, " bytes; Kiln reads files of at most ",
                                                     options.max_bytes, " bytes here", options.too_large_advice));
    }
    return absl::InvalidArgumentError(kiln::StrCat(name, ": a read of ", length, " bytes is over the limit of ",
                                                   options.max_bytes, " bytes"));
  }
  std::string bytes(static_cast<size_t>(length), '\0');
  int64_t done = 0;
  while (done < length) {
    const ssize_t got = ::pread(fd, bytes.data() + done, static_cast<size_t>(length - done), options.offset + done);
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, kiln::StrCat(name, " cannot be read"));
    }
    if (got == 0) {
      return absl::DataLossError(
          kiln::StrCat(name, " ended after ", done, " of ", length, " bytes (did it change while it was read?)"));
    }
    done += got;
  }
  return bytes;
}

absl::StatusOr<std::string> ResolvePathInside(const std::string& dir, std::string_view relative,
                                              std::string_view what) {
  const std::string written = kiln::StrCat(what, " '", Printable(relative), "'");
  if (relative.empty()) return absl::InvalidArgumentError(kiln::StrCat(what, " is an empty path"));
  if (relative.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(kiln::StrCat(written, " contains a NUL byte"));
  }
  const fs::path rel{std::string(relative)};
  if (rel.is_absolute()) {
    return absl::InvalidArgumentError(
        kiln::StrCat(written, " is an absolute path; paths in a model must be relative to the model's folder"));
  }
  std::error_code ec;
  const fs::path base = fs::canonical(dir.empty() ? fs::path(".") : fs::path(dir), ec);
  if (ec) {
    return absl::Status(absl::ErrnoToStatusCode(ec.value()),
                        kiln::StrCat("the model's folder '", dir, "' cannot be resolved: ", ec.message()));
  }
  const fs::path target = fs::weakly_canonical(base / rel, ec);
  if (ec) {
    return absl::Status(absl::ErrnoToStatusCode(ec.value()),
                        kiln::StrCat(written, " cannot be resolved: ", ec.message()));
  }
  // Inside means: the folder's components are a prefix of the target's (so "/m/a" is not inside "/m/ab").
  auto t = target.begin();
  for (auto b = base.begin(); b != base.end(); ++b, ++t) {
    if (t == target.end() || *b != *t) {
      return absl::InvalidArgumentError(kiln::StrCat(
          written, " leads to '", target.string(), "', outside the model's folder '", base.string(),
          "'; paths in a model must stay inside its folder (no '..' or symlink out of it)"));
    }
  }
  return target.string();
}

}  // namespace kiln
