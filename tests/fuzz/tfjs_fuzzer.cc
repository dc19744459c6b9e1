// libFuzzer target: the TensorFlow.js graph-model importer. The importer reads files (model.json
// and the weight shards beside it), so each input is written to a private temp folder first: the
// bytes before the first NUL become model.json, the bytes after it the shard "weights.bin".
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "kiln/runtime/import.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

const std::string* dir = nullptr;

// The folder, made on first use and removed at exit.
const std::string& Dir() {
  if (dir == nullptr) {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln_tfjs_fuzz_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = new std::string(pattern);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(*dir, ignored);
    });
  }
  return *dir;
}

void Write(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = kiln::fuzz::Bytes(data, size);
  const size_t nul = input.find('\0');
  const std::string json_path = Dir() + "/model.json";
  Write(json_path, input.substr(0, nul));
  Write(Dir() + "/weights.bin", nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1));
  return kiln::fuzz::CheckImport(kiln::ImportTfjsModel(json_path), json_path);
}
