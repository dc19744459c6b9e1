// libFuzzer target: the ONNX importer on arbitrary bytes.
#include "kiln/runtime/import.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kiln::fuzz::CheckImport(kiln::ImportOnnxBytes(kiln::fuzz::Bytes(data, size), "fuzz.onnx"), "fuzz.onnx");
}
