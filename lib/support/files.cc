#include "kiln/support/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "kiln/support/strings.h"

namespace kiln {
namespace {

// The canonical code for a failed open/mkdir/access.
absl::StatusCode CodeOf(int error) {
  switch (error) {
    case ENOENT: return absl::StatusCode::kNotFound;
    case ENOTDIR:
    case EISDIR:
    case EEXIST: return absl::StatusCode::kFailedPrecondition;
    case EACCES:
    case EPERM:
    case EROFS: return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT: return absl::StatusCode::kResourceExhausted;
    default: return absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::Status CheckOutputFolder(const std::string& dir, bool create, std::string_view what) {
  const std::string where = kiln::StrCat(what, " '", dir, "'");
  if (dir.empty()) return absl::InvalidArgumentError(kiln::StrCat(what, " is empty; name a folder"));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    const int error = errno;
    if (error != ENOENT || !create) {
      return absl::Status(CodeOf(error), kiln::StrCat(where, " cannot be used: ", std::strerror(error),
                                                      error == ENOENT ? "; create the folder first" : ""));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::Status(CodeOf(ec.value()),
                          kiln::StrCat(where, " cannot be created: ", ec.message(),
                                       "; choose a folder you can write to"));
    }
    if (::stat(dir.c_str(), &st) != 0) {
      const int error = errno;
      return absl::Status(CodeOf(error), kiln::StrCat(where, " cannot be used: ", std::strerror(error)));
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        kiln::StrCat(where, " is not a folder; name a folder (it is created when missing)"));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    const int error = errno;
    return absl::Status(CodeOf(error), kiln::StrCat(where, " is not writable: ", std::strerror(error),
                                                    "; choose a folder you can write to"));
  }
  return absl::OkStatus();
}

absl::Status WriteFileBytes(const std::string& path, std::string_view bytes, std::string_view what) {
  const std::string where = kiln::StrCat(what, " '", path, "'");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int error = errno;
    return absl::Status(CodeOf(error), kiln::StrCat(where, " cannot be written: ", std::strerror(error)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      ::close(fd);
      return absl::DataLossError(kiln::StrCat(where, ": writing failed after ", done, " of ", bytes.size(),
                                              " bytes: ", std::strerror(error)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const int error = errno;
    return absl::DataLossError(kiln::StrCat(where, ": writing failed: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace kiln
