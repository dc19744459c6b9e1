// libFuzzer target: the HLO text parser on arbitrary bytes.
//
// Whatever the text, ParseModule must return. A module it accepts must print to text that parses
// back and prints the same (print and parse are inverse on printed text), and a module that also
// passes the verifier must survive the binary round trip (serialize, deserialize, same text).
#include <string>
#include <string_view>

#include "kiln/hlo/parser.h"
#include "kiln/hlo/serialization.h"
#include "kiln/hlo/verifier.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kiln::fuzz::Fail;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<kiln::hlo::Module>> module = kiln::hlo::ParseModule(text);
  if (!module.ok()) return 0;
  const std::string printed = (*module)->ToString();
  absl::StatusOr<std::unique_ptr<kiln::hlo::Module>> reparsed = kiln::hlo::ParseModule(printed);
  if (!reparsed.ok()) Fail("the printed text of a parsed module does not parse", reparsed.status());
  if ((*reparsed)->ToString() != printed) {
    Fail("printing the reparsed module gives different text", absl::InternalError(printed));
  }
  if (!kiln::hlo::VerifyModule(**module).ok()) return 0;
  absl::StatusOr<std::string> bytes = kiln::hlo::SerializeModule(**module);
  if (!bytes.ok()) Fail("a verified module does not serialize", bytes.status());
  absl::StatusOr<std::unique_ptr<kiln::hlo::Module>> loaded = kiln::hlo::DeserializeModule(*bytes);
  if (!loaded.ok()) Fail("a serialized module does not deserialize", loaded.status());
  if ((*loaded)->ToString() != printed) {
    Fail("the deserialized module prints differently", absl::InternalError(printed));
  }
  return 0;
}
