// libFuzzer target: the .kiln model loader on arbitrary bytes.
#include "kiln/runtime/model_format.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kiln::fuzz::CheckImport(kiln::LoadKilnModelBytes(kiln::fuzz::Bytes(data, size), "fuzz.kiln"), "fuzz.kiln");
}
