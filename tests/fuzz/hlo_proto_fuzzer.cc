// libFuzzer target: HLO deserialization (kiln/hlo/serialization.h) on arbitrary bytes.
//
// Whatever the bytes, DeserializeModule must return. A module it accepts has passed the verifier;
// it must serialize and deserialize again to the same text, and its text must parse back to a
// module that prints the same.
#include <string>

#include "kiln/hlo/parser.h"
#include "kiln/hlo/serialization.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kiln::fuzz::Fail;
  absl::StatusOr<std::unique_ptr<kiln::hlo::Module>> module =
      kiln::hlo::DeserializeModule(kiln::fuzz::Bytes(data, size));
  if (!module.ok()) return 0;
  const std::string printed = (*module)->ToString();
  absl::StatusOr<std::string> bytes = kiln::hlo::SerializeModule(**module);
  if (!bytes.ok()) Fail("a deserialized module does not serialize", bytes.status());
  absl::StatusOr<std::unique_ptr<kiln::hlo::Module>> again = kiln::hlo::DeserializeModule(*bytes);
  if (!again.ok()) Fail("a reserialized module does not deserialize", again.status());
  if ((*again)->ToString() != printed) Fail("the round trip changes the module", absl::InternalError(printed));
  absl::StatusOr<std::unique_ptr<kiln::hlo::Module>> parsed = kiln::hlo::ParseModule(printed);
  if (!parsed.ok()) Fail("the text of a deserialized module does not parse", parsed.status());
  if ((*parsed)->ToString() != printed) Fail("the text does not parse back to the same module", absl::InternalError(printed));
  return 0;
}
