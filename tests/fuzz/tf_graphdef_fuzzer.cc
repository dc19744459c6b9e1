// libFuzzer target: the TensorFlow frozen GraphDef importer on arbitrary bytes.
#include "kiln/runtime/import.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kiln::fuzz::CheckImport(kiln::ImportTfGraphDefBytes(kiln::fuzz::Bytes(data, size), "fuzz.pb"), "fuzz.pb");
}
