#include "kiln/hlo/opcode.h"

#include "kiln/support/strings.h"


namespace kiln::hlo {
namespace {

struct OpcodeInfo {
  std::string_view name;
  int arity;
};
constexpr OpcodeInfo kOpcodeInfo[] = {
#define KILN_HLO_OPCODE_INFO_(enum_name, text, arity) {text, arity},
    KILN_HLO_OPCODE_LIST(KILN_HLO_OPCODE_INFO_)
#undef KILN_HLO_OPCODE_INFO_
};

}  // namespace

std::string_view OpcodeString(Opcode opcode) {
  return kOpcodeInfo[static_cast<int>(opcode)].name;
}

absl::StatusOr<Opcode> StringToOpcode(std::string_view name) {
  for (int i = 0; i < kOpcodeCount; ++i) {
    if (kOpcodeInfo[i].name == name) return static_cast<Opcode>(i);
  }
  return absl::NotFoundError(kiln::StrCat("unknown HLO opcode '", name, "'"));
}

bool OpcodeCallsComputations(Opcode opcode) {
  switch (opcode) {
    case Opcode::kReduce:
    case Opcode::kReduceWindow:
    case Opcode::kSelectAndScatter:
    case Opcode::kScatter:
    case Opcode::kSort:
    case Opcode::kMap:
    case Opcode::kCall:
    case Opcode::kFusion:
    case Opcode::kWhile:
    case Opcode::kConditional:
    case Opcode::kCustomCall: return true;
    default: return false;
  }
}

std::optional<int> OpcodeArity(Opcode opcode) {
  int arity = kOpcodeInfo[static_cast<int>(opcode)].arity;
  if (arity < 0) return std::nullopt;
  return arity;
}

bool IsElementwiseUnary(Opcode opcode) {
  return static_cast<int>(opcode) >= static_cast<int>(Opcode::kAbs) &&
         static_cast<int>(opcode) <= static_cast<int>(Opcode::kCopy);
}
bool IsElementwiseBinary(Opcode opcode) {
  return static_cast<int>(opcode) >= static_cast<int>(Opcode::kAdd) &&
         static_cast<int>(opcode) <= static_cast<int>(Opcode::kCompare);
}
bool IsElementwise(Opcode opcode) {
  return IsElementwiseUnary(opcode) || IsElementwiseBinary(opcode) || opcode == Opcode::kSelect ||
         opcode == Opcode::kClamp || opcode == Opcode::kConvert;
}

}  // namespace kiln::hlo
