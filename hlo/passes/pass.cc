#include "kiln/hlo/pass.h"

#include "hlo/str_util.h"
#include "kiln/hlo/verifier.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

absl::StatusOr<bool> Pipeline::Run(Module* module) {
  bool changed_any = false;
  for (int it = 0; it < options_.max_iterations; ++it) {
    bool changed = false;
    for (const auto& pass : passes_) {
      absl::StatusOr<bool> c = pass->Run(module);
      if (!c.ok()) return Annotate(c.status(), internal::Cat("pass ", pass->name()));
      changed |= *c;
      if (options_.verify_after_each_pass) {
        KILN_RETURN_IF_ERROR(Annotate(VerifyModule(*module),
                                 internal::Cat("after pass ", pass->name(), " in ", name_)));
      }
    }
    changed_any |= changed;
    if (!changed) break;
  }
  return changed_any;
}

}  // namespace kiln::hlo
