// Private to tools/hlo_docgen: the per-opcode documentation table.
#ifndef KILN_TOOLS_HLO_DOCGEN_OP_DOCS_H_
#define KILN_TOOLS_HLO_DOCGEN_OP_DOCS_H_

#include <string_view>

#include "absl/types/span.h"
#include "kiln/hlo/opcode.h"

namespace kiln::hlo_docgen {

// One opcode's documentation. `computations` and `body` form a representative module:
//   HloModule representative\n\n<computations>\nENTRY main {\n<body>\n}
// in which `$T` stands for the element type being probed and the instruction named `op` is the
// one backends are asked about. A type for which the module does not parse and verify is not a
// type the opcode takes.
struct OpDoc {
  hlo::Opcode opcode;
  std::string_view shape_rule;    // Markdown: the shape rule and semantics.
  std::string_view computations;  // HLO text of the computations `body` calls (may be empty).
  std::string_view body;          // Entry computation lines.
};

// Every entry, in opcode-table order.
absl::Span<const OpDoc> OpDocs();

}  // namespace kiln::hlo_docgen

#endif  // KILN_TOOLS_HLO_DOCGEN_OP_DOCS_H_
