// The executor: runs a graph's nodes in topological order with their kernels.
#ifndef KILN_RUNTIME_EXECUTOR_H_
#define KILN_RUNTIME_EXECUTOR_H_

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"
#include "kiln/runtime/memory_plan.h"
#include "kiln/runtime/op_registry.h"

namespace kiln {

using Feeds = std::vector<std::pair<std::string, Tensor>>;

class ThreadPool;

struct ExecutorOptions {
  // Place activations in a per-signature planned arena (kiln/runtime/memory_plan.h); false gives
  // every output its own allocation, freed after its last reader.
  bool memory_plan = true;
  // 1 runs the nodes one after another on the calling thread. N > 1 runs independent ready nodes
  // concurrently on a pool of N threads owned by the executor (the caller waits), each thread
  // limited to (OpenMP's thread count) / N threads for oneDNN; the memory plan is then computed
  // for the parallel schedule. 0 means one thread per hardware thread; N is capped at that; a
  // negative N runs sequentially.
  int inter_op_threads = 1;
};

class Executor {
 public:
  // Validates the graph (topological order, known ops, shape inference) and builds one kernel per
  // node. Errors name the node and problem.
  static absl::StatusOr<std::unique_ptr<Executor>> Create(std::shared_ptr<const Graph> graph,
                                                          const ExecutorOptions& options = {});
  ~Executor();

  // Runs the nodes needed for `fetches`. Every graph input the fetches depend on must be fed; a
  // feed's dtype and rank must match the declared input and each known dimension must agree
  // (InvalidArgument naming the input otherwise). Thread-safe: each call has its own values and,
  // with the memory plan, its own arena. The fetched tensors never share memory with an arena.
  // Results do not depend on memory_plan or inter_op_threads.
  absl::StatusOr<std::vector<Tensor>> Run(const Feeds& feeds,
                                          const std::vector<std::string>& fetches) const;

  // The memory plan a run would use with inputs of these types (the declared type for inputs not
  // listed; every dimension must then be known) and these fetches (empty: the graph outputs),
  // planned for the sequential order or for the parallel schedule. For `kiln info --memory`.
  absl::StatusOr<MemoryPlanStats> PlanMemory(const std::map<std::string, TensorType>& input_types,
                                             const std::vector<std::string>& fetches,
                                             bool parallel_schedule) const;

  const Graph& graph() const { return *graph_; }
  // The kernel of graph().nodes[i].
  const OpKernel& kernel(int i) const { return *kernels_[i]; }
  // Static types inferred from the declared inputs.
  const std::map<std::string, TensorType>& types() const { return types_; }
  // The number of threads that run nodes (1: sequential).
  int inter_op_threads() const { return threads_; }

 private:
  struct RunPlan;
  class PlanAllocator;
  struct ParallelRun;

  Executor() = default;
  // The plan for feeds of these types (by slot) and these fetch slots; errors name a missing input.
  absl::StatusOr<std::shared_ptr<RunPlan>> BuildPlan(const std::vector<std::pair<int, TensorType>>& fed,
                                                     const std::vector<int>& fetch_slots, bool memory_plan,
                                                     bool parallel_schedule) const;
  void PlaceValues(const std::map<std::string, TensorType>& types, bool parallel_schedule,
                   RunPlan* plan) const;
  // Runs node `i` with `values`; the outputs go to their slots (copied out of the arena where a
  // kernel returned an unplanned view of arena memory).
  absl::Status RunNode(int i, const RunPlan& plan, const std::shared_ptr<Buffer>& arena,
                       std::vector<Tensor>& values) const;
  absl::Status RunParallel(const RunPlan& plan, const std::shared_ptr<Buffer>& arena,
                           std::vector<Tensor>& values) const;
  // Runs `node` and then, while it makes exactly one node ready, that node; schedules the others.
  void ParallelTask(const std::shared_ptr<ParallelRun>& run, int node) const;

  ExecutorOptions options_;
  int threads_ = 1;
  std::unique_ptr<ThreadPool> pool_;
  std::shared_ptr<const Graph> graph_;
  std::vector<int> order_;
  std::vector<std::unique_ptr<OpKernel>> kernels_;  // Indexed like graph_->nodes.
  std::map<std::string, TensorType> types_;
  std::map<std::string, int> value_index_;          // Value name -> slot.
  std::vector<std::vector<int>> node_inputs_;       // Per node: slots (-1 = absent).
  std::vector<std::vector<int>> node_outputs_;
  std::vector<int> producer_;                       // Per slot: producing node, or -1.
  std::vector<bool> is_initializer_;                // Per slot.
  std::vector<std::string> slot_names_;             // Per slot.
  std::vector<std::vector<int>> control_preds_;     // Per node: nodes named by its control inputs.
  std::vector<std::vector<int>> distinct_inputs_;   // Per node: its input slots, each once.

  // Plans by input signature and fetches (at most kMaxPlans, the oldest dropped first).
  static constexpr size_t kMaxPlans = 16;
  mutable std::mutex plans_mu_;
  mutable std::map<std::string, std::shared_ptr<RunPlan>> plans_;
  mutable std::deque<std::string> plan_keys_;
};

}  // namespace kiln

#endif  // KILN_RUNTIME_EXECUTOR_H_
