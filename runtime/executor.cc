#include "kiln/runtime/executor.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <set>
#include <thread>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "kiln/support/status.h"
#include "runtime/thread_pool.h"

namespace kiln {

// What one (input signature, fetches) pair needs: the nodes to run, when values die, the
// dependencies for the parallel schedule, the memory plan and the arenas of finished runs.
struct Executor::RunPlan {
  std::vector<int> nodes;              // Node indices to run, in topological order.
  std::vector<int> position;           // Per node: index in `nodes`, or -1 when not run.
  std::vector<char> fetched;           // Per slot.
  std::vector<int> release_after;      // Per slot: position after which the value is dropped; -1 never.
  std::vector<int> readers;            // Per slot: nodes in `nodes` that read it (each counted once).
  std::vector<int> num_preds;          // Per node: distinct nodes it waits for (data and control).
  std::vector<std::vector<int>> succs; // Per node: nodes that wait for it.
  MemoryPlan memory;

  // Arenas of finished runs, for the next runs (concurrent runs each take their own).
  std::mutex mu;
  std::vector<std::shared_ptr<Buffer>> free_arenas;
  static constexpr size_t kMaxFreeArenas = 8;

  absl::StatusOr<std::shared_ptr<Buffer>> AcquireArena() {
    if (memory.stats.arena_bytes == 0) return std::shared_ptr<Buffer>();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!free_arenas.empty()) {
        std::shared_ptr<Buffer> arena = std::move(free_arenas.back());
        free_arenas.pop_back();
        return arena;
      }
    }
    return Buffer::Allocate(static_cast<size_t>(memory.stats.arena_bytes));
  }
  // Takes back an arena no tensor refers to any more.
  void ReleaseArena(std::shared_ptr<Buffer> arena) {
    if (arena == nullptr || arena.use_count() != 1) return;
    std::lock_guard<std::mutex> lock(mu);
    if (free_arenas.size() < kMaxFreeArenas) free_arenas.push_back(std::move(arena));
  }
};

// The kernels' output allocation hook: planned arena slots for kArena outputs of the planned type.
class Executor::PlanAllocator : public OutputAllocator {
 public:
  PlanAllocator(const MemoryPlan& plan, const std::shared_ptr<Buffer>& arena, const std::vector<int>& slots)
      : plan_(plan), arena_(arena), slots_(slots) {}

  absl::StatusOr<Tensor> Allocate(int output, DType dtype, const Dims& dims) override {
    const int slot = output < static_cast<int>(slots_.size()) ? slots_[output] : -1;
    if (slot >= 0 && arena_ != nullptr) {
      const ValuePlan& vp = plan_.values[slot];
      if (vp.placement == Placement::kArena && vp.dtype == dtype && vp.dims == dims) {
        KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::FromBuffer(dtype, dims, arena_, static_cast<size_t>(vp.offset)));
        MaybePoison(t.raw_data(), t.byte_size());
        return t;
      }
    }
    return Tensor::CreateUninitialized(dtype, dims);
  }

 private:
  const MemoryPlan& plan_;
  const std::shared_ptr<Buffer>& arena_;
  const std::vector<int>& slots_;
};

struct Executor::ParallelRun {
  const RunPlan* plan = nullptr;
  const std::shared_ptr<Buffer>* arena = nullptr;
  std::vector<Tensor>* values = nullptr;
  std::mutex mu;
  std::condition_variable done;
  std::vector<int> pending;      // Per node: predecessors not finished yet.
  std::vector<int> readers_left;  // Per slot.
  int in_flight = 0;              // Chains of nodes scheduled or running.
  absl::Status status;
  int error_position = INT_MAX;
};

namespace {

// Ops whose kernel returns output 0 as a view of input 0 (same bytes, other dims).
bool IsViewNode(const Node& node, const std::map<std::string, TensorType>& types) {
  static const std::set<std::string> kViews = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
                                               "Dropout"};
  if (node.outputs.empty() || node.outputs[0].empty() || !node.has_input(0)) return false;
  if (kViews.count(node.op)) return true;
  if (node.op == "Cast" || node.op == "CastLike") {  // A cast to its own dtype returns the input.
    auto in = types.find(node.inputs[0]);
    auto out = types.find(node.outputs[0]);
    return in != types.end() && out != types.end() && in->second.dtype == out->second.dtype;
  }
  return false;
}

int64_t AlignUp(int64_t bytes) {
  constexpr int64_t kAlign = static_cast<int64_t>(Buffer::kAlignment);
  return (bytes + kAlign - 1) / kAlign * kAlign;
}

bool InArena(const Tensor& t, const std::shared_ptr<Buffer>& arena) {
  return arena != nullptr && t.buffer().get() == arena.get();
}

}  // namespace

Executor::~Executor() = default;

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(std::shared_ptr<const Graph> graph,
                                                           const ExecutorOptions& options) {
  std::unique_ptr<Executor> ex(new Executor());
  ex->graph_ = graph;
  ex->options_ = options;
  KILN_ASSIGN_OR_RETURN(ex->order_, graph->TopologicalOrder());
  KILN_ASSIGN_OR_RETURN(ex->types_, InferTypes(*graph));

  auto slot_of = [&](const std::string& name) {
    auto [it, inserted] = ex->value_index_.emplace(name, static_cast<int>(ex->value_index_.size()));
    if (inserted) ex->slot_names_.push_back(name);
    return it->second;
  };
  for (const ValueInfo& in : graph->inputs) slot_of(in.name);
  for (const auto& [name, value] : graph->initializers) slot_of(name);
  const int n = static_cast<int>(graph->nodes.size());
  ex->node_inputs_.resize(n);
  ex->node_outputs_.resize(n);
  ex->distinct_inputs_.resize(n);
  ex->control_preds_.resize(n);
  ex->kernels_.resize(n);
  std::map<std::string, int> node_index;
  for (int i = 0; i < n; ++i) {
    node_index[graph->nodes[i].name] = i;
    for (const std::string& out : graph->nodes[i].outputs) {
      if (!out.empty()) slot_of(out);
    }
  }
  const int slots = static_cast<int>(ex->value_index_.size());
  ex->producer_.assign(slots, -1);
  ex->is_initializer_.assign(slots, false);
  for (const auto& [name, value] : graph->initializers) ex->is_initializer_[ex->value_index_.at(name)] = true;
  const OpRegistry& registry = OpRegistry::Global();
  for (int pos = 0; pos < n; ++pos) {
    int i = ex->order_[pos];
    const Node& node = graph->nodes[i];
    for (const std::string& c : node.control_inputs) {
      auto it = node_index.find(c);  // TopologicalOrder checked that it exists.
      if (it != node_index.end()) ex->control_preds_[i].push_back(it->second);
    }
    KernelConstruction kc{node, {}, nullptr};
    std::vector<TensorType> output_types;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        ex->node_inputs_[i].push_back(-1);
        kc.input_types.push_back(nullptr);
        continue;
      }
      int slot = ex->value_index_.at(in);
      ex->node_inputs_[i].push_back(slot);
      std::vector<int>& distinct = ex->distinct_inputs_[i];
      if (std::find(distinct.begin(), distinct.end(), slot) == distinct.end()) distinct.push_back(slot);
      kc.input_types.push_back(&ex->types_.at(in));
    }
    for (const std::string& out : node.outputs) {
      const int slot = out.empty() ? -1 : ex->value_index_.at(out);
      ex->node_outputs_[i].push_back(slot);
      if (slot >= 0) ex->producer_[slot] = i;
      output_types.push_back(out.empty() ? TensorType{} : ex->types_.at(out));
    }
    kc.output_types = &output_types;
    const OpDef* def = registry.Find(node.op);  // InferTypes checked that it exists.
    if (!def->kernel_factory) {
      return absl::UnimplementedError(
          kiln::StrCat(node.op, " node '", node.name, "': op has no CPU kernel"));
    }
    absl::StatusOr<std::unique_ptr<OpKernel>> kernel;
    try {
      kernel = def->kernel_factory(kc);
    } catch (const std::exception& e) {
      kernel = absl::InternalError(kiln::StrCat(node.op, " node '", node.name, "': ", e.what()));
    }
    if (!kernel.ok()) return kernel.status();
    ex->kernels_[i] = *std::move(kernel);
  }

  const int hardware = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int threads = options.inter_op_threads == 0 ? hardware : std::min(options.inter_op_threads, hardware);
  ex->threads_ = std::max(threads, 1);  // Negative counts run sequentially.
  if (ex->threads_ > 1) {
    const int share = ex->threads_;
    ex->pool_ = std::make_unique<ThreadPool>(share, [share] { LimitOpenMpThreadsOfThisThread(share); });
  }
  return ex;
}

absl::StatusOr<std::shared_ptr<Executor::RunPlan>> Executor::BuildPlan(
    const std::vector<std::pair<int, TensorType>>& fed, const std::vector<int>& fetch_slots, bool memory_plan,
    bool parallel_schedule) const {
  const Graph& graph = *graph_;
  const int n = static_cast<int>(graph.nodes.size());
  const int slots = static_cast<int>(value_index_.size());
  auto plan = std::make_shared<RunPlan>();
  std::vector<bool> is_fed(slots, false);
  for (const auto& [slot, type] : fed) is_fed[slot] = true;

  // The nodes the fetches need, found backwards from them.
  std::vector<bool> needed(n, false);
  std::vector<int> stack;
  auto need_value = [&](int slot, const std::string& reader) -> absl::Status {
    const int p = producer_[slot];
    if (p >= 0) {
      if (!needed[p]) {
        needed[p] = true;
        stack.push_back(p);
      }
      return absl::OkStatus();
    }
    if (!is_fed[slot] && !is_initializer_[slot]) {
      return absl::InvalidArgumentError(
          kiln::StrCat("input '", slot_names_[slot], "' is not fed (needed by ", reader, ")"));
    }
    return absl::OkStatus();
  };
  plan->fetched.assign(slots, 0);
  for (int f : fetch_slots) {
    plan->fetched[f] = 1;
    KILN_RETURN_IF_ERROR(need_value(f, kiln::StrCat("fetch '", slot_names_[f], "'")));
  }
  while (!stack.empty()) {
    int i = stack.back();
    stack.pop_back();
    for (int s : node_inputs_[i]) {
      if (s >= 0) KILN_RETURN_IF_ERROR(need_value(s, kiln::StrCat("node '", graph.nodes[i].name, "'")));
    }
    for (int c : control_preds_[i]) {
      if (!needed[c]) {
        needed[c] = true;
        stack.push_back(c);
      }
    }
  }

  plan->position.assign(n, -1);
  for (int i : order_) {
    if (!needed[i]) continue;
    plan->position[i] = static_cast<int>(plan->nodes.size());
    plan->nodes.push_back(i);
  }
  plan->release_after.assign(slots, -1);
  plan->readers.assign(slots, 0);
  plan->num_preds.assign(n, 0);
  plan->succs.assign(n, {});
  for (int i : plan->nodes) {
    const int pos = plan->position[i];
    std::vector<int> preds = control_preds_[i];
    for (int s : distinct_inputs_[i]) {
      ++plan->readers[s];
      if (producer_[s] >= 0 && !plan->fetched[s]) plan->release_after[s] = pos;
      if (producer_[s] >= 0) preds.push_back(producer_[s]);
    }
    std::sort(preds.begin(), preds.end());
    preds.erase(std::unique(preds.begin(), preds.end()), preds.end());
    plan->num_preds[i] = static_cast<int>(preds.size());
    for (int p : preds) plan->succs[p].push_back(i);
  }

  plan->memory.values.assign(slots, ValuePlan{});
  plan->memory.stats.parallel_schedule = parallel_schedule;
  std::map<std::string, TensorType> overrides;
  for (const auto& [slot, type] : fed) overrides[slot_names_[slot]] = type;
  for (const ValueInfo& in : graph.inputs) {
    auto init = graph.initializers.find(in.name);
    if (overrides.count(in.name) || init == graph.initializers.end()) continue;
    TensorType t{init->second.dtype(), init->second.dims()};
    t.value = init->second;
    overrides[in.name] = std::move(t);
  }
  absl::StatusOr<std::map<std::string, TensorType>> types = absl::CancelledError("memory plan off");
  if (memory_plan) types = InferTypes(graph, overrides);
  if (types.ok()) {
    PlaceValues(*types, parallel_schedule, plan.get());
  } else {
    // Without a plan (or when the signature's types cannot be inferred; the kernels then report the
    // problem) every output gets its own allocation.
    for (int i : plan->nodes) {
      for (int s : node_outputs_[i]) {
        if (s >= 0) plan->memory.values[s] = ValuePlan{Placement::kHeap, DType::kInvalid, {}, 0, -1, -1};
      }
    }
  }
  return plan;
}

void Executor::PlaceValues(const std::map<std::string, TensorType>& types, bool parallel_schedule,
                           RunPlan* plan) const {
  const Graph& graph = *graph_;
  const int slots = static_cast<int>(value_index_.size());
  std::vector<ValuePlan>& values = plan->memory.values;
  MemoryPlanStats& stats = plan->memory.stats;

  // Alias classes: a view's root is the root of its input; -2 for a view of a feed or initializer.
  std::vector<int> root(slots, -1);
  for (int i : plan->nodes) {
    for (int s : node_outputs_[i]) {
      if (s >= 0) root[s] = s;
    }
    const int in = node_inputs_[i].empty() ? -1 : node_inputs_[i][0];
    if (IsViewNode(graph.nodes[i], types) && in >= 0 && node_outputs_[i][0] >= 0) {
      root[node_outputs_[i][0]] = producer_[in] >= 0 ? root[in] : -2;
    }
  }
  // Per root: the nodes reading any member of its class, the last of them, whether one is fetched.
  std::vector<std::vector<int>> ends(slots);
  std::vector<int> last(slots, -1);
  std::vector<char> class_fetched(slots, 0);
  for (int i : plan->nodes) {
    for (int s : distinct_inputs_[i]) {
      if (producer_[s] < 0 || root[s] < 0) continue;
      const int r = root[s];
      if (ends[r].empty() || ends[r].back() != i) ends[r].push_back(i);
      last[r] = std::max(last[r], plan->position[i]);
    }
  }
  for (int s = 0; s < slots; ++s) {
    if (plan->fetched[s] && root[s] >= 0) class_fetched[root[s]] = 1;
  }

  std::vector<int> arena_slots;
  std::vector<int64_t> sizes;
  for (int i : plan->nodes) {
    for (int s : node_outputs_[i]) {
      if (s < 0) continue;
      ValuePlan& vp = values[s];
      if (root[s] != s) {
        vp.placement = Placement::kAlias;
        vp.root = root[s] >= 0 ? root[s] : -1;
        ++stats.alias_values;
        continue;
      }
      auto t = types.find(slot_names_[s]);
      const bool known = t != types.end() && t->second.fully_defined() && t->second.dtype != DType::kInvalid;
      const int64_t bytes = known ? NumElements(t->second.dims) * static_cast<int64_t>(DTypeSize(t->second.dtype)) : -1;
      vp.bytes = bytes;
      if (!known || bytes <= 0 || class_fetched[s]) {
        vp.placement = Placement::kHeap;
        ++stats.heap_values;
        if (bytes > 0) stats.heap_bytes += bytes;
        continue;
      }
      vp.placement = Placement::kArena;
      vp.dtype = t->second.dtype;
      vp.dims = t->second.dims;
      vp.bytes = AlignUp(bytes);
      arena_slots.push_back(s);
      sizes.push_back(vp.bytes);
      ++stats.arena_values;
      stats.activation_bytes += vp.bytes;
      const int pos = plan->position[producer_[s]];
      last[s] = std::max(last[s], pos);
      if (ends[s].empty()) ends[s].push_back(producer_[s]);  // Dead output: lives while produced.
    }
  }
  const int count = static_cast<int>(arena_slots.size());
  auto first = [&](int a) { return plan->position[producer_[arena_slots[a]]]; };

  // Peak of simultaneously live arena values in the sequential order (a lower bound).
  std::vector<int64_t> delta(plan->nodes.size() + 1, 0);
  for (int a = 0; a < count; ++a) {
    delta[first(a)] += sizes[a];
    delta[last[arena_slots[a]] + 1] -= sizes[a];
  }
  int64_t live = 0;
  for (int64_t d : delta) {
    live += d;
    stats.peak_live_bytes = std::max(stats.peak_live_bytes, live);
  }

  std::function<bool(int, int)> conflict;
  std::vector<std::vector<uint64_t>> ancestors;  // Per position: bit set of positions that precede it.
  constexpr size_t kMaxParallelPlanNodes = 16384;  // The bit sets cost nodes^2 / 8 bytes.
  if (!parallel_schedule) {
    // Sequential order: lifetimes are intervals of positions; a node's outputs never share bytes
    // with its inputs (both are live at its position).
    conflict = [&](int a, int b) {
      return !(last[arena_slots[a]] < first(b) || last[arena_slots[b]] < first(a));
    };
  } else if (plan->nodes.size() <= kMaxParallelPlanNodes) {
    // Parallel schedule: a's bytes may be reused by b only when every reader of a's class (or its
    // producer, when nothing reads it) precedes b's producer in the dependency graph, since then no
    // schedule can run them at the same time; likewise with a and b swapped.
    const size_t words = (plan->nodes.size() + 63) / 64;
    ancestors.assign(plan->nodes.size(), std::vector<uint64_t>(words, 0));
    for (size_t pos = 0; pos < plan->nodes.size(); ++pos) {
      const int i = plan->nodes[pos];
      for (int succ : plan->succs[i]) {
        const int sp = plan->position[succ];
        for (size_t w = 0; w < words; ++w) ancestors[sp][w] |= ancestors[pos][w];
        ancestors[sp][pos / 64] |= uint64_t{1} << (pos % 64);
      }
    }
    auto before = [&](int a, int b) {
      const std::vector<uint64_t>& anc = ancestors[first(b)];
      for (int reader : ends[arena_slots[a]]) {
        const int rp = plan->position[reader];
        if (!((anc[rp / 64] >> (rp % 64)) & 1)) return false;
      }
      return true;
    };
    conflict = [before](int a, int b) { return !before(a, b) && !before(b, a); };
  } else {
    // Too large to analyse: every value gets its own allocation, freed after its last reader.
    for (int slot : arena_slots) values[slot].placement = Placement::kHeap;
    stats.heap_values += stats.arena_values;
    stats.heap_bytes += stats.activation_bytes;
    stats.arena_values = 0;
    stats.activation_bytes = stats.peak_live_bytes = 0;
    return;
  }
  int64_t total = 0;
  std::vector<int64_t> offsets =
      AssignOffsetsGreedyBySize(sizes, conflict, static_cast<int64_t>(Buffer::kAlignment), &total);
  for (int a = 0; a < count; ++a) values[arena_slots[a]].offset = offsets[a];
  stats.arena_bytes = total;
}

absl::Status Executor::RunNode(int i, const RunPlan& plan, const std::shared_ptr<Buffer>& arena,
                               std::vector<Tensor>& values) const {
  const Node& node = graph_->nodes[i];
  std::vector<const Tensor*> inputs;
  inputs.reserve(node_inputs_[i].size());
  for (int s : node_inputs_[i]) inputs.push_back(s < 0 ? nullptr : &values[s]);
  std::vector<Tensor> outputs(node.outputs.size());
  PlanAllocator allocator(plan.memory, arena, node_outputs_[i]);
  KernelContext ctx(node, std::move(inputs), &outputs, arena != nullptr ? &allocator : nullptr);
  absl::Status status;
  try {
    status = kernels_[i]->Compute(ctx);
  } catch (const std::exception& e) {
    status = absl::InternalError(kiln::StrCat(node.op, " node '", node.name, "': ", e.what()));
  }
  if (!status.ok()) return status;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const int s = node_outputs_[i][k];
    if (s < 0) continue;
    Tensor& t = outputs[k];
    if (!t.valid()) {
      return absl::InternalError(kiln::StrCat(node.op, " node '", node.name, "' produced no output ", k));
    }
    if (InArena(t, arena)) {
      // Arena bytes are only valid where the plan put this value: its own slot, or for a view the
      // slot of its root. Anything else (a kernel that returned an unplanned view of an input) is
      // copied, to its own slot when it has one.
      const char* base = static_cast<const char*>(arena->data());
      const int64_t begin = static_cast<const char*>(t.raw_data()) - base;
      const int64_t end = begin + static_cast<int64_t>(t.byte_size());
      const ValuePlan& vp = plan.memory.values[s];
      const ValuePlan* home = &vp;
      if (vp.placement == Placement::kAlias) home = vp.root >= 0 ? &plan.memory.values[vp.root] : nullptr;
      const bool placed = home != nullptr && home->placement == Placement::kArena &&
                          (home == &vp ? begin == vp.offset : begin >= home->offset) &&
                          end <= home->offset + home->bytes;
      if (!placed) {
        if (vp.placement == Placement::kArena && static_cast<int64_t>(t.byte_size()) <= vp.bytes) {
          KILN_ASSIGN_OR_RETURN(Tensor copy, Tensor::FromBuffer(t.dtype(), t.dims(), arena, vp.offset));
          std::memmove(copy.raw_data(), t.raw_data(), t.byte_size());
          t = std::move(copy);
        } else {
          t = t.Clone();
        }
      }
    }
    values[s] = std::move(t);
  }
  return absl::OkStatus();
}

void Executor::ParallelTask(const std::shared_ptr<ParallelRun>& run, int node) const {
  const RunPlan& plan = *run->plan;
  for (int i = node; i >= 0;) {
    bool skip;
    {
      std::lock_guard<std::mutex> lock(run->mu);
      skip = !run->status.ok();
    }
    absl::Status status = skip ? absl::OkStatus() : RunNode(i, plan, *run->arena, *run->values);
    int next = -1;
    std::lock_guard<std::mutex> lock(run->mu);
    const int pos = plan.position[i];
    if (!status.ok() && pos < run->error_position) {
      run->status = status;
      run->error_position = pos;
    }
    for (int s : distinct_inputs_[i]) {
      if (--run->readers_left[s] == 0 && plan.release_after[s] >= 0) (*run->values)[s] = Tensor();
    }
    if (run->status.ok()) {
      for (int succ : plan.succs[i]) {
        if (--run->pending[succ] != 0) continue;
        if (next < 0) {
          next = succ;
          continue;
        }
        ++run->in_flight;
        pool_->Schedule([this, run, succ] { ParallelTask(run, succ); });
      }
    }
    if (next < 0 && --run->in_flight == 0) run->done.notify_all();
    i = next;
  }
}

absl::Status Executor::RunParallel(const RunPlan& plan, const std::shared_ptr<Buffer>& arena,
                                   std::vector<Tensor>& values) const {
  auto run = std::make_shared<ParallelRun>();
  run->plan = &plan;
  run->arena = &arena;
  run->values = &values;
  run->pending = plan.num_preds;
  run->readers_left = plan.readers;
  std::unique_lock<std::mutex> lock(run->mu);
  for (int i : plan.nodes) {
    if (plan.num_preds[i] != 0) continue;
    ++run->in_flight;
    pool_->Schedule([this, run, i] { ParallelTask(run, i); });
  }
  run->done.wait(lock, [&] { return run->in_flight == 0; });
  return run->status;
}

absl::StatusOr<std::vector<Tensor>> Executor::Run(const Feeds& feeds,
                                                  const std::vector<std::string>& fetches) const {
  const Graph& graph = *graph_;
  std::map<int, const Tensor*> fed;  // By slot; a later feed of the same name wins.
  for (const auto& [name, tensor] : feeds) {
    const ValueInfo* info = graph.FindInput(name);
    if (info == nullptr) {
      std::vector<std::string> names;
      for (const ValueInfo& v : graph.inputs) names.push_back(v.name);
      return absl::InvalidArgumentError(kiln::StrCat("feed '", name, "' is not an input of the model; its inputs are: ",
                                                     absl::StrJoin(names, ", ")));
    }
    if (!tensor.valid()) {
      return absl::InvalidArgumentError(kiln::StrCat("feed '", name, "' is an empty tensor"));
    }
    if (tensor.dtype() != info->dtype) {
      return absl::InvalidArgumentError(kiln::StrCat("feed '", name, "' has dtype ", DTypeName(tensor.dtype()),
                                                     "; the model expects ", DTypeName(info->dtype)));
    }
    if (info->has_shape) {
      bool ok = tensor.rank() == static_cast<int>(info->dims.size());
      for (int d = 0; ok && d < tensor.rank(); ++d) {
        ok = info->dims[d] < 0 || info->dims[d] == tensor.dim(d);
      }
      if (!ok) {
        TensorType expected{info->dtype, info->dims};
        return absl::InvalidArgumentError(kiln::StrCat("feed '", name, "' has shape ",
                                                       DimsToString(tensor.dims()), "; the model expects ",
                                                       expected.ToString(), " (? = any size)"));
      }
    }
    fed[value_index_.at(name)] = &tensor;
  }
  std::vector<int> fetch_slots;
  for (const std::string& f : fetches) {
    auto it = value_index_.find(f);
    if (it == value_index_.end()) {
      return absl::InvalidArgumentError(kiln::StrCat("fetch '", f, "' names no value of the model"));
    }
    fetch_slots.push_back(it->second);
  }

  // The plan for this signature: fed slots with their dtypes and dims, and the fetches.
  std::string key;
  for (const auto& [slot, tensor] : fed) {
    kiln::StrAppend(&key, slot, ":", static_cast<int>(tensor->dtype()), DimsToString(tensor->dims()), ";");
  }
  kiln::StrAppend(&key, "|", absl::StrJoin(fetch_slots, ","));
  std::shared_ptr<RunPlan> plan;
  {
    std::lock_guard<std::mutex> lock(plans_mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) plan = it->second;
  }
  if (plan == nullptr) {
    std::vector<std::pair<int, TensorType>> fed_types;
    for (const auto& [slot, tensor] : fed) fed_types.push_back({slot, TensorType{tensor->dtype(), tensor->dims()}});
    KILN_ASSIGN_OR_RETURN(plan, BuildPlan(fed_types, fetch_slots, options_.memory_plan, threads_ > 1));
    std::lock_guard<std::mutex> lock(plans_mu_);
    auto [it, inserted] = plans_.emplace(key, plan);
    if (inserted) {
      plan_keys_.push_back(key);
      if (plan_keys_.size() > kMaxPlans) {
        plans_.erase(plan_keys_.front());
        plan_keys_.pop_front();
      }
    } else {
      plan = it->second;  // Another thread planned the same signature first.
    }
  }

  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> arena, plan->AcquireArena());
  std::vector<Tensor> result;
  {
    std::vector<Tensor> values(value_index_.size());
    for (const auto& [name, value] : graph.initializers) values[value_index_.at(name)] = value;
    for (const auto& [slot, tensor] : fed) values[slot] = *tensor;
    absl::Status status;
    if (threads_ > 1) {
      status = RunParallel(*plan, arena, values);
    } else {
      for (size_t pos = 0; pos < plan->nodes.size() && status.ok(); ++pos) {
        const int i = plan->nodes[pos];
        status = RunNode(i, *plan, arena, values);
        // Release values whose last reader just ran, so heap buffers return to the allocator.
        for (int s : distinct_inputs_[i]) {
          if (plan->release_after[s] == static_cast<int>(pos)) values[s] = Tensor();
        }
      }
    }
    if (status.ok()) {
      result.reserve(fetch_slots.size());
      for (int s : fetch_slots) {
        // Fetched values are planned outside the arena; this only guards against kernels that
        // returned unplanned views.
        result.push_back(InArena(values[s], arena) ? values[s].Clone() : values[s]);
      }
    }
    values.clear();
    if (!status.ok()) {
      plan->ReleaseArena(std::move(arena));
      return status;
    }
  }
  plan->ReleaseArena(std::move(arena));
  return result;
}

absl::StatusOr<MemoryPlanStats> Executor::PlanMemory(const std::map<std::string, TensorType>& input_types,
                                                     const std::vector<std::string>& fetches,
                                                     bool parallel_schedule) const {
  const Graph& graph = *graph_;
  std::vector<std::pair<int, TensorType>> fed;
  for (const auto& [name, type] : input_types) {
    if (graph.FindInput(name) == nullptr) {
      return absl::InvalidArgumentError(kiln::StrCat("'", name, "' is not an input of the model"));
    }
  }
  for (const ValueInfo& in : graph.inputs) {
    if (graph.initializers.count(in.name) && !input_types.count(in.name)) continue;
    auto it = input_types.find(in.name);
    TensorType t = it != input_types.end() ? it->second : TensorType{in.dtype, in.dims, in.has_shape};
    fed.push_back({value_index_.at(in.name), std::move(t)});
  }
  std::vector<int> fetch_slots;
  if (fetches.empty()) {
    for (const ValueInfo& out : graph.outputs) fetch_slots.push_back(value_index_.at(out.name));
  }
  for (const std::string& f : fetches) {
    auto it = value_index_.find(f);
    if (it == value_index_.end()) {
      return absl::InvalidArgumentError(kiln::StrCat("fetch '", f, "' names no value of the model"));
    }
    fetch_slots.push_back(it->second);
  }
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<RunPlan> plan, BuildPlan(fed, fetch_slots, true, parallel_schedule));
  return plan->memory.stats;
}

}  // namespace kiln
