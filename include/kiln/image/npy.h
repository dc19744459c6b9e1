// NumPy .npy files: read and write one tensor.
//
// Supported: format versions 1.0, 2.0 and 3.0; C order; every Kiln dtype that NumPy has: '<f2' (f16),
// '<f4' (f32), '<f8' (f64), '|i1' '<i2' '<i4' '<i8' (s8..s64), '|u1' '<u2' '<u4' '<u8' (u8..u64) and
// '|b1' (bool). A 0-d array is a scalar (dims {}). bf16 has no NumPy dtype and is refused when
// writing, with an error that says how to get f32. Thread-safe (no shared state).
#ifndef KILN_IMAGE_NPY_H_
#define KILN_IMAGE_NPY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

// Parses the bytes of a .npy file. InvalidArgument (naming `source_name`) for a bad magic string or
// header, an unsupported dtype, big-endian data, Fortran order or a shape of more than
// kMaxTensorElements elements (checked before anything is allocated); DataLoss when the data is shorter
// than the header's shape says (trailing bytes beyond it are also refused, as a sign of a wrong shape).
absl::StatusOr<Tensor> ParseNpy(std::string_view bytes, std::string_view source_name);

// Reads a .npy file (kiln/support/read_file.h: regular files only, at most 16 GiB + 1 MiB): "cannot
// be opened: <reason>" (NotFound, PermissionDenied, ...) when it cannot be opened, InvalidArgument for
// a folder or a FIFO, otherwise as ParseNpy.
absl::StatusOr<Tensor> ReadNpyFile(const std::string& path);

// Serializes `tensor` as .npy (version 1.0, or 2.0 when the header would not fit 1.0's 16-bit length),
// header padded so the data starts at a multiple of 64 bytes. InvalidArgument for bf16 (naming it and
// saying how to convert to f32) or an absent tensor.
absl::StatusOr<std::string> SerializeNpy(const Tensor& tensor);

// Writes `tensor` to `path` (replacing it). Errors name the path and give the OS's reason (strerror).
absl::Status WriteNpyFile(const std::string& path, const Tensor& tensor);

}  // namespace kiln

#endif  // KILN_IMAGE_NPY_H_
