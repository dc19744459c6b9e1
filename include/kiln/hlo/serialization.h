// Binary serialization of HLO modules (protobuf; schema in lib/proto/hlo.proto).
//
// SerializeModule writes every computation, instruction, shape (element type, dimensions, dynamic
// flags, layout with tiles, tuples), literal and attribute; DeserializeModule(SerializeModule(m))
// prints (Module::ToString) exactly as m does. Unique ids are not kept: the new module assigns its
// own, as Module::Clone does.
#ifndef KILN_HLO_SERIALIZATION_H_
#define KILN_HLO_SERIALIZATION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/hlo/module.h"

namespace kiln::hlo {

// The module as the bytes of a kiln.hloproto.ModuleProto. InvalidArgument when the module cannot
// be represented (no entry computation, an instruction without a parent computation in the module).
absl::StatusOr<std::string> SerializeModule(const Module& module);

// Reads bytes written by SerializeModule. Validates everything before building anything that could
// fail: the protobuf wire format, the version, opcode names, element types, shapes and layouts,
// literal sizes and values, operand and computation ids (unknown ids, duplicates, cycles among
// instructions or calls), operand and callee counts, parameter numbers, and finally runs the
// verifier (shapes re-inferred from operands and attributes). InvalidArgument naming the
// computation, instruction and problem otherwise; never crashes on corrupt or truncated bytes.
absl::StatusOr<std::unique_ptr<Module>> DeserializeModule(std::string_view bytes);

}  // namespace kiln::hlo

#endif  // KILN_HLO_SERIALIZATION_H_
