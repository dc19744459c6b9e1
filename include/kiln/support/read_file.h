// Reading files named by a user or by a model file, safely (docs/security.md): only regular files
// are opened, nothing blocks, sizes are checked before anything is allocated, and a path written
// inside a model never leads out of the model's folder. Every file read of the importers, the
// image and .npy readers and the kiln CLI goes through these functions. Thread-safe.
#ifndef KILN_SUPPORT_READ_FILE_H_
#define KILN_SUPPORT_READ_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kiln {

// The most bytes ReadRegularFile reads unless told otherwise: 2 GiB - 1, the most protobuf parses.
inline constexpr int64_t kMaxFileBytes = (int64_t{2} << 30) - 1;

struct ReadFileOptions {
  int64_t max_bytes = kMaxFileBytes;  // A larger read is refused before anything is allocated.
  int64_t offset = 0;                 // The first byte to read.
  int64_t length = -1;                // The bytes to read; -1: from `offset` to the end of the file.
  std::string too_large_advice;       // Appended to the error for a whole file over max_bytes.
};

// Checks, without opening it, that `path` names a regular file (symlinks followed). Errors name
// `what` and the path: "<what> '<path>' cannot be opened: <reason>" (NotFound, PermissionDenied, ...
// as errno says), "<what> '<path>' is a directory" and "<what> '<path>' is not a regular file (FIFO)"
// (or socket, character device, block device), both InvalidArgument.
absl::Status CheckRegularFile(const std::string& path, std::string_view what);

// Reads bytes [offset, offset + length) of the regular file `path`. The file is opened
// non-blocking (a FIFO or a device never blocks) and checked with fstat before reading, with the
// errors of CheckRegularFile. InvalidArgument when the read would exceed `max_bytes` or the range
// does not lie within the file; DataLoss when the file shrinks while it is read.
absl::StatusOr<std::string> ReadRegularFile(const std::string& path, std::string_view what,
                                            const ReadFileOptions& options = {});

// Resolves `relative`, a path written inside a model file, against `dir`, the model's folder ("" is
// the working directory). The result is the canonical path (`..` and symlinks resolved, as far as
// the path exists), and it must lie inside the canonical `dir`. InvalidArgument, naming `what`, the
// path as written and where it leads, for an empty or absolute path, a NUL byte, or a path that
// leaves the folder (through `..` or a symlink). The file itself need not exist. The check is made
// on the names at the time of the call: Kiln trusts the filesystem not to change under it.
absl::StatusOr<std::string> ResolvePathInside(const std::string& dir, std::string_view relative,
                                              std::string_view what);

}  // namespace kiln

#endif  // KILN_SUPPORT_READ_FILE_H_
