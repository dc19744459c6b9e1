#include "jit/compilation_cache.h"

#include <vector>

#include "kiln/support/strings.h"
#include "absl/strings/str_format.h"
#include "jit/encapsulate.h"
#include "kiln/hlo/computation.h"
#include "kiln/version.h"

namespace kiln::jit {
namespace {

std::string BytesHash(const void* data, size_t size) {
  return absl::StrFormat("%016x", StableHash(data, size));
}

// The instruction's HLO text line; an array constant shows a hash of its bytes, not its values
// (a cluster's weights would otherwise print as megabytes of decimals).
std::string CanonicalInstructionText(const hlo::Instruction& instr) {
  if (instr.opcode() != hlo::Opcode::kConstant || !instr.shape().IsArray()) return instr.ToString();
  const hlo::Literal& literal = instr.literal();
  return kiln::StrCat("%", instr.name(), " = ", instr.shape().ToString(), " constant(bytes#",
                      BytesHash(literal.untyped_data(), literal.size_bytes()), ")", instr.AttributesToString());
}

}  // namespace

std::string CanonicalModuleText(hlo::Module& module) {
  // Renames in place and restores afterwards: a clone would copy every weight (8 ms of a 75 ms
  // MobileNetV2 compile).
  const std::vector<hlo::Computation*> computations = module.MakeComputationPostOrder();
  std::vector<std::string> computation_names;
  std::vector<std::pair<hlo::Instruction*, std::string>> instruction_names;
  int64_t next_computation = 0, next_instruction = 0;
  // Every name first: an instruction's attributes name the computations it calls.
  for (hlo::Computation* c : computations) {
    computation_names.push_back(c->name());
    c->set_name(c == module.entry_computation() ? "main" : kiln::StrCat("c", next_computation++));
    for (hlo::Instruction* instr : c->MakeInstructionPostOrder()) {
      instruction_names.emplace_back(instr, instr->name());
      instr->set_name(kiln::StrCat("v", next_instruction++));
    }
  }
  std::string text = "HloModule m\n";
  for (const hlo::Computation* c : computations) {
    kiln::StrAppend(&text, c == module.entry_computation() ? "ENTRY %" : "%", c->name(), " ",
                    c->ComputeProgramShape().ToString(/*print_layout=*/true), " {\n");
    for (const hlo::Instruction* instr : c->MakeInstructionPostOrder()) {
      kiln::StrAppend(&text, instr == c->root_instruction() ? "  ROOT " : "  ", CanonicalInstructionText(*instr),
                      "\n");
    }
    kiln::StrAppend(&text, "}\n");
  }
  for (size_t i = 0; i < computations.size(); ++i) computations[i]->set_name(computation_names[i]);
  for (auto& [instr, name] : instruction_names) instr->set_name(std::move(name));
  return text;
}

std::string CompilationKey(hlo::Module& module, const backends::Backend& backend) {
  const std::string text = CanonicalModuleText(module);
  return kiln::StrCat("hlo#", BytesHash(text.data(), text.size()), "|", std::string(backend.name()), "|",
                      backend.TargetDescription(), "|kiln ", KILN_VERSION);
}

CompilationCache& CompilationCache::Global() {
  static CompilationCache* cache = new CompilationCache();
  return *cache;
}

std::shared_ptr<const CompiledCluster> CompilationCache::GetOrCompile(const std::string& key,
                                                                      const CompileFn& compile, Lookup* lookup) {
  std::shared_ptr<Entry> entry;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      entry = it->second;
      ++stats_.hits;
      if (lookup != nullptr) *lookup = Lookup::kHit;
      ready_.wait(lock, [&] { return entry->ready; });
      return entry->value;
    }
    entry = std::make_shared<Entry>();
    entries_.emplace(key, entry);
    ++stats_.entries;
  }
  std::shared_ptr<const CompiledCluster> value = compile();
  {
    std::lock_guard<std::mutex> lock(mu_);
    entry->value = value;
    entry->ready = true;
    const bool compiled = value != nullptr && value->executable != nullptr;
    ++(compiled ? stats_.compilations : stats_.failures);
    if (lookup != nullptr) *lookup = compiled ? Lookup::kCompiled : Lookup::kFailed;
  }
  ready_.notify_all();
  return value;
}

void CompilationCache::CountHit() {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.hits;
}

void CompilationCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  stats_.entries = 0;
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

CacheStats CompilationCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace kiln::jit
