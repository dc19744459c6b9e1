// libFuzzer target: the .npy reader (bytes -> tensor). Whatever the bytes, ParseNpy must return: an
// error names the file; a tensor holds no more bytes than the input, serializes (SerializeNpy) and
// parses back to the same dtype, dims and bytes. Shapes whose element count overflows are seeds
// (corpus/npy/regression-*).
#include <cstring>

#include "kiln/image/npy.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::StatusOr<kiln::Tensor> tensor = kiln::ParseNpy(kiln::fuzz::Bytes(data, size), "fuzz.npy");
  if (!tensor.ok()) {
    if (!absl::StrContains(tensor.status().message(), "fuzz.npy")) {
      kiln::fuzz::Fail("the error does not name the file", tensor.status());
    }
    return 0;
  }
  if (tensor->byte_size() > size) {
    kiln::fuzz::Fail("a tensor holds more bytes than its file", absl::InternalError(tensor->TypeString()));
  }
  const absl::StatusOr<std::string> saved = kiln::SerializeNpy(*tensor);
  if (!saved.ok()) kiln::fuzz::Fail("a parsed tensor does not serialize", saved.status());
  const absl::StatusOr<kiln::Tensor> loaded = kiln::ParseNpy(*saved, "roundtrip.npy");
  if (!loaded.ok()) kiln::fuzz::Fail("a serialized tensor does not parse back", loaded.status());
  if (loaded->dtype() != tensor->dtype() || loaded->dims() != tensor->dims() ||
      (tensor->byte_size() > 0 && std::memcmp(loaded->raw_data(), tensor->raw_data(), tensor->byte_size()) != 0)) {
    kiln::fuzz::Fail("the round trip changed the tensor",
                     absl::InternalError(tensor->TypeString() + " -> " + loaded->TypeString()));
  }
  return 0;
}
