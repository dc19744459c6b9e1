// Memory planning for the executor: where each activation of one run lives.
//
// The executor plans, per input signature, one arena for the activations of a run. Each value a
// node produces is placed in one of three ways:
//   kArena  at a fixed offset of the arena; values whose lifetimes cannot overlap share bytes;
//   kAlias  a view (Identity, Reshape, Flatten, Squeeze, Unsqueeze, Dropout's output 0, a Cast to
//           its own dtype) of another value, with no bytes of its own: it extends the lifetime of
//           the value it views (its `root`);
//   kHeap   its own reference-counted allocation, as without a plan: values the caller fetches
//           (they must outlive the run and never alias reused memory) and values whose size is not
//           known before the run (data-dependent shapes).
// Offsets come from AssignOffsetsGreedyBySize (kiln/support/arena_assigner.h), which the CPU
// backend's temporaries use too.
#ifndef KILN_RUNTIME_MEMORY_PLAN_H_
#define KILN_RUNTIME_MEMORY_PLAN_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "kiln/tensor/tensor.h"
#include "kiln/support/arena_assigner.h"

namespace kiln {

enum class Placement : uint8_t {
  kNone = 0,  // Not produced by this run: a feed, an initializer, or a value no fetch needs.
  kArena,
  kAlias,
  kHeap,
};

struct ValuePlan {
  Placement placement = Placement::kNone;
  DType dtype = DType::kInvalid;
  Dims dims;               // Set for kArena (the type the producer must ask for to get the slot).
  int64_t offset = 0;      // kArena: byte offset in the arena (a multiple of Buffer::kAlignment).
  int64_t bytes = 0;       // kArena: bytes reserved; kHeap: the expected size, or -1 when unknown.
  int root = -1;           // kAlias: the slot of the kArena/kHeap value whose bytes it views.
};

// Figures of one plan, as `kiln info --memory` prints them.
struct MemoryPlanStats {
  bool parallel_schedule = false;  // Planned for inter-op parallel execution.
  int64_t arena_bytes = 0;         // Size of the arena: the peak activation memory with the plan.
  int64_t activation_bytes = 0;    // Sum of the sizes of the arena values (no reuse at all).
  int64_t peak_live_bytes = 0;     // Most arena-value bytes alive at once in the sequential order:
                                   // a lower bound for any arena, for comparison.
  int64_t heap_bytes = 0;          // Known sizes of kHeap values (fetched outputs).
  int arena_values = 0;
  int alias_values = 0;
  int heap_values = 0;
};

struct MemoryPlan {
  std::vector<ValuePlan> values;  // Indexed by the executor's value slot.
  MemoryPlanStats stats;
};


}  // namespace kiln

#endif  // KILN_RUNTIME_MEMORY_PLAN_H_
