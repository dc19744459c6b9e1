#include "kiln/hlo/pass.h"

#include <cstdio>
#include <string>

#include "kiln/support/strings.h"
#include "kiln/hlo/verifier.h"
#include "kiln/support/files.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
Pass* Pipeline::AddPass(std::unique_ptr<Pass> pass) {
  if (auto* nested = dynamic_cast<Pipeline*>(pass.get())) {
    // The nested pipeline writes into this pipeline's dump folder, numbered in one sequence.
    auto share = [](auto&& self, Pipeline* p, const PipelineOptions& o,
                    const std::shared_ptr<int>& count) -> void {
      if (p->options_.dump_to.empty()) {
        p->options_.dump_to = o.dump_to;
        p->options_.dump_prefix = o.dump_prefix;
      }
      p->dump_count_ = count;
      for (const auto& inner : p->passes_) {
        if (auto* q = dynamic_cast<Pipeline*>(inner.get())) self(self, q, o, count);
      }
    };
    share(share, nested, options_, dump_count_);
  }
  passes_.push_back(std::move(pass));
  return passes_.back().get();
}

absl::Status Pipeline::Dump(const Module& module, std::string_view after) const {
  if (options_.dump_to.empty()) return absl::OkStatus();
  char number[16];
  std::snprintf(number, sizeof(number), "%04d", (*dump_count_)++);
  std::string path = kiln::StrCat(options_.dump_to, "/", options_.dump_prefix, module.name(), ".",
                                   number, ".", name_, ".", after, ".txt");
  return WriteFileBytes(path, module.ToString(), "HLO dump");
}

absl::StatusOr<bool> Pipeline::Run(Module* module) {
  if (*dump_count_ == 0) KILN_RETURN_IF_ERROR(Dump(*module, "before"));
  bool changed_any = false;
  for (const auto& pass : passes_) {
    absl::StatusOr<bool> changed = pass->Run(module);
    if (!changed.ok()) return Annotate(changed.status(), kiln::StrCat("pass ", pass->name()));
    changed_any |= *changed;
    if (options_.verify_after_each_pass) {
      KILN_RETURN_IF_ERROR(Annotate(VerifyModule(*module),
                                    kiln::StrCat("after pass ", pass->name(), " in ", name_)));
    }
    // A nested pipeline dumped after each of its own passes already.
    if (*changed && dynamic_cast<const Pipeline*>(pass.get()) == nullptr) {
      KILN_RETURN_IF_ERROR(Dump(*module, pass->name()));
    }
  }
  return changed_any;
}

}  // namespace kiln::hlo
