// Output folders and files: checks done before a run, and writes whose errors give the OS's reason.
#ifndef KILN_SUPPORT_FILES_H_
#define KILN_SUPPORT_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kiln {

// Checks that `dir` is a folder this process can create files in. With `create`, a missing `dir`
// (and its missing parents) is created first; without it, a missing `dir` is NotFound. Errors start
// with "<what> '<dir>'", give the OS's reason (strerror) and say what to do; their code follows the
// OS error: NotFound, FailedPrecondition (not a folder), PermissionDenied (cannot be created or
// written), ResourceExhausted (disk full). Thread-safe.
absl::Status CheckOutputFolder(const std::string& dir, bool create, std::string_view what);

// Writes `bytes` to `path`, replacing the file. Errors start with "<what> '<path>'" and give the OS's
// reason; a file that cannot be opened has CheckOutputFolder's codes, a failed write is DataLoss.
absl::Status WriteFileBytes(const std::string& path, std::string_view bytes, std::string_view what);

}  // namespace kiln

#endif  // KILN_SUPPORT_FILES_H_
