// The "_KilnLaunch" op: runs one encapsulated cluster through the compilation cache. Each launch
// node memoizes, per input signature, what it found, so a steady-state run neither lowers nor
// takes the cache's lock more than once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "kiln/support/strings.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jit/compilation_cache.h"
#include "jit/encapsulate.h"
#include "jit/lower.h"
#include "kiln/backends/backend.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/executor.h"
#include "kiln/support/flags.h"
#include "kiln/support/log.h"
#include "kiln/support/status.h"
#include "runtime/kernels/kernel_util.h"

namespace kiln::jit {
namespace {

// Sequence number of cluster compilations in this process (names dump files uniquely).
std::atomic<int64_t> next_dump_index{0};

// Writes the module's HLO text to `<dir>/cluster_<fingerprint>_<n>.hlo.txt`, creating `dir`.
absl::Status DumpHlo(const std::string& dir, const std::string& fingerprint, const hlo::Module& module) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        kiln::StrCat("cannot create dump folder '", dir, "': ", ec.message(), "; check --dump_to"));
  }
  std::string path = kiln::StrCat(dir, "/cluster_", fingerprint, "_", next_dump_index++, ".hlo.txt");
  std::ofstream out(path);
  out << module.ToString();
  out.close();
  if (!out) return absl::PermissionDeniedError(kiln::StrCat("cannot write HLO dump '", path, "'"));
  return absl::OkStatus();
}

class LaunchKernel : public OpKernel {
 public:
  // This launch node's own cache lookups (its session's share of the process-wide counters).
  CacheStats stats() const {
    CacheStats s;
    s.compilations = compilations_.load();
    s.hits = hits_.load();
    s.failures = failures_.load();
    s.compile_ms = static_cast<double>(compile_ns_.load()) * 1e-6;
    s.kernels_chosen = kernels_chosen_.load();
    return s;
  }

  LaunchKernel(std::shared_ptr<const Graph> cluster, std::string node_name, std::string backend,
               std::string fingerprint, std::string dump_to, bool measure_choice,
               const std::vector<const TensorType*>& input_types)
      : cluster_(std::move(cluster)),
        node_name_(std::move(node_name)),
        backend_(std::move(backend)),
        fingerprint_(std::move(fingerprint)),
        dump_to_(std::move(dump_to)),
        measure_choice_(measure_choice) {
    // The signature of the first run, when the graph's shape inference knows every input's type.
    StaticSignature known;
    for (size_t i = 0; i < input_types.size(); ++i) {
      const TensorType* t = input_types[i];
      if (i >= cluster_->inputs.size() || t == nullptr || !t->fully_defined() || t->dtype != cluster_->inputs[i].dtype) {
        return;
      }
      known.dims.push_back(t->dims);
      kiln::StrAppend(&known.signature, "|", DTypeName(t->dtype), DimsToString(t->dims));
    }
    if (input_types.size() == cluster_->inputs.size()) static_signature_ = std::move(known);
  }

  // Compiles (or finds in the cache) the executable for the input types known at construction,
  // ahead of the first Compute, which then finds it (CompileClustersInParallel). False when those
  // types are not all known.
  bool Precompile() const {
    if (!static_signature_) return false;
    std::shared_ptr<const SignatureEntry> entry = FindOrCompile(static_signature_->signature, static_signature_->dims);
    entry->precompiled.store(true, std::memory_order_release);
    return true;
  }
  bool has_static_signature() const { return static_signature_.has_value(); }

  absl::Status Compute(KernelContext& ctx) const override {
    if (ctx.num_inputs() != static_cast<int>(cluster_->inputs.size())) {
      return ctx.Error(kiln::StrCat("has ", ctx.num_inputs(), " inputs; its cluster takes ",
                                    cluster_->inputs.size()));
    }
    std::vector<kiln::Dims> dims;
    std::string signature;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i)) return ctx.Error(kiln::StrCat("input ", i, " is missing"));
      const Tensor& t = ctx.input(i);
      if (t.dtype() != cluster_->inputs[i].dtype) {
        return ctx.Error(kiln::StrCat("input ", i, " ('", cluster_->inputs[i].name, "') is ",
                                      t.TypeString(), "; the cluster was formed for ",
                                      DTypeName(cluster_->inputs[i].dtype)));
      }
      dims.push_back(t.dims());
      kiln::StrAppend(&signature, "|", DTypeName(t.dtype()), DimsToString(t.dims()));
    }
    std::shared_ptr<const SignatureEntry> entry = FindOrCompile(signature, dims);
    if (entry->compiled->executable != nullptr) {
      if (!measure_choice_) return RunExecutable(*entry->compiled->executable, ctx);
      const int choice = entry->choice.load(std::memory_order_acquire);
      return choice == kUndecided ? MeasureChoice(*entry, dims, ctx) : RunChosen(*entry, choice, ctx);
    }
    if (entry->kernels == nullptr) {
      return ctx.Error(kiln::StrCat("cluster ", fingerprint_,
                                    " could neither be compiled nor run with the runtime kernels: ",
                                    entry->failure.message()));
    }
    return RunFallback(*entry->kernels, ctx);
  }

 private:
  // What this node runs for one input signature: the process-wide cache's entry and, when that
  // holds no executable, an executor of this node's cluster on the runtime kernels.
  struct SignatureEntry {
    int64_t generation = 0;  // CompilationCache::generation() when looked up.
    std::shared_ptr<const CompiledCluster> compiled;
    // The cluster on the runtime kernels for this signature's dims: set when there is no
    // executable, or (under choice_mu, before `choice` is published) when the kernels measured faster.
    mutable std::unique_ptr<Executor> kernels;
    absl::Status failure;  // Why neither runs (kernels null, no executable).
    // With measure_choice: which of the compiled code and the kernels runs this signature
    // (kUndecided until the first call measured both; written once under choice_mu).
    mutable std::atomic<int> choice{kUndecided};
    mutable std::mutex choice_mu;
    // Set by Precompile: the first Compute that finds the entry does not count it as a cache hit
    // (Precompile counted the lookup), so that counters read the same with and without it.
    mutable std::atomic<bool> precompiled{false};
  };
  struct StaticSignature {
    std::string signature;
    std::vector<kiln::Dims> dims;
  };
  static constexpr int kUndecided = 0, kRunCompiled = 1, kRunKernels = 2;

  // Runs a compiled signature the way its measurement decided.
  absl::Status RunChosen(const SignatureEntry& entry, int choice, KernelContext& ctx) const {
    return choice == kRunKernels ? RunFallback(*entry.kernels, ctx) : RunExecutable(*entry.compiled->executable, ctx);
  }

  // An executor of this node's cluster on the runtime kernels, for inputs of `dims`.
  absl::StatusOr<std::unique_ptr<Executor>> KernelExecutor(const std::vector<kiln::Dims>& dims) const {
    auto graph = std::make_shared<Graph>(*cluster_);
    for (size_t i = 0; i < graph->inputs.size(); ++i) graph->inputs[i].dims = dims[i];
    return Executor::Create(graph);
  }

  // The first call of a compiled signature: runs the kernels once untimed (their first call creates
  // oneDNN primitives), then the kernels and the compiled code alternately on
  // this call's inputs (at least 2 runs each, more while the total stays under 10 ms, at most 8;
  // one each when the compiled code is twice as fast),
  // compares their fastest runs and remembers the choice. The compiled code stays unless the
  // kernels are more than 3% faster. The outputs are the compiled code's, from its last run.
  absl::Status MeasureChoice(const SignatureEntry& entry, const std::vector<kiln::Dims>& dims,
                             KernelContext& ctx) const {
    const backends::Executable& executable = *entry.compiled->executable;
    std::lock_guard<std::mutex> lock(entry.choice_mu);
    // Another call may have decided while this one waited for the lock.
    if (const int choice = entry.choice.load(std::memory_order_acquire); choice != kUndecided) {
      return RunChosen(entry, choice, ctx);
    }
    absl::StatusOr<std::unique_ptr<Executor>> kernels = KernelExecutor(dims);
    if (!kernels.ok()) {
      entry.choice.store(kRunCompiled, std::memory_order_release);
      return RunExecutable(executable, ctx);
    }
    using Clock = std::chrono::steady_clock;
    auto ms_since = [](Clock::time_point t) {
      return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    };
    constexpr int kMinRuns = 2, kMaxRuns = 8;
    constexpr double kBudgetMs = 10.0;
    double best_kernels = std::numeric_limits<double>::infinity();
    double best_compiled = best_kernels;
    // Every run is timed and the best of each side counts, with at least kMinRuns of each: a first
    // call's one-time costs (primitives, buffers) drop out without an untimed warm-up run, which on
    // ResNet-50 costs 108 ms of the first run.
    bool kernels_ok = true;
    const Clock::time_point begin = Clock::now();
    for (int run = 0; run < kMaxRuns; ++run) {
      if (kernels_ok) {
        const Clock::time_point t = Clock::now();
        kernels_ok = RunFallback(**kernels, ctx).ok();
        best_kernels = std::min(best_kernels, ms_since(t));
      }
      const Clock::time_point t = Clock::now();
      KILN_RETURN_IF_ERROR(RunExecutable(executable, ctx));
      best_compiled = std::min(best_compiled, ms_since(t));
      if (!kernels_ok) break;
      // Compiled code twice as fast as the kernels decides after the minimum runs.
      if (run + 1 >= kMinRuns && (best_compiled * 2 < best_kernels || ms_since(begin) > kBudgetMs)) break;
    }
    const bool use_kernels = kernels_ok && best_kernels * 1.03 < best_compiled;
    if (GetFlags().log_compiles) {
      Log(LogSeverity::kInfo,
          absl::StrFormat("JIT: cluster %s (%zu ops): compiled %.3f ms, kernels %.3f ms: runs the %s",
                          fingerprint_, cluster_->nodes.size(), best_compiled, best_kernels,
                          use_kernels ? "kernels" : "compiled code"));
    }
    if (use_kernels) {
      entry.kernels = *std::move(kernels);
      ++kernels_chosen_;
    }
    entry.choice.store(use_kernels ? kRunKernels : kRunCompiled, std::memory_order_release);
    return absl::OkStatus();
  }

  // The fast path: what this node found for `signature` before, without lowering again. Otherwise
  // lowers the cluster and looks up the process-wide cache by the module's CompilationKey.
  std::shared_ptr<const SignatureEntry> FindOrCompile(const std::string& signature,
                                                      const std::vector<kiln::Dims>& dims) const {
    CompilationCache& cache = CompilationCache::Global();
    const int64_t generation = cache.generation();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = by_signature_.find(signature);
      if (it != by_signature_.end() && it->second->generation == generation) {
        if (it->second->precompiled.exchange(false, std::memory_order_acq_rel)) return it->second;
        cache.CountHit();
        // A remembered failure runs on the kernels: it counts as a failure, not a hit.
        ++(it->second->compiled->executable != nullptr ? hits_ : failures_);
        return it->second;
      }
    }
    auto entry = std::make_shared<SignatureEntry>();
    entry->generation = generation;
    CompilationCache::Lookup lookup = CompilationCache::Lookup::kHit;
    const auto start = std::chrono::steady_clock::now();
    entry->compiled = LookUp(signature, dims, &lookup);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    switch (lookup) {
      case CompilationCache::Lookup::kHit: ++(entry->compiled->executable != nullptr ? hits_ : failures_); break;
      case CompilationCache::Lookup::kCompiled:
        ++compilations_;
        compile_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
        break;
      case CompilationCache::Lookup::kFailed: ++failures_; break;
    }
    if (entry->compiled->executable == nullptr) {
      // The kernels' executor sees the cluster with this signature's input dims.
      entry->failure = entry->compiled->failure;
      absl::StatusOr<std::unique_ptr<Executor>> fallback = KernelExecutor(dims);
      if (fallback.ok()) {
        entry->kernels = *std::move(fallback);
      } else {
        entry->failure = Annotate(fallback.status(), entry->failure.ToString());
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    by_signature_[signature] = entry;
    return entry;
  }

  // Lowers the cluster for `dims` and finds or compiles its module in the process-wide cache. A
  // failure before there is a module (unknown backend, lowering error) is remembered under the
  // runtime graph's fingerprint and the signature instead.
  std::shared_ptr<const CompiledCluster> LookUp(const std::string& signature, const std::vector<kiln::Dims>& dims,
                                                CompilationCache::Lookup* lookup) const {
    const auto start = std::chrono::steady_clock::now();
    backends::RegisterBackends();
    backends::Backend* backend = backends::BackendRegistry::Global().Find(backend_);
    absl::StatusOr<std::unique_ptr<hlo::Module>> module =
        backend == nullptr ? absl::NotFoundError(kiln::StrCat("JIT backend '", backend_, "' is not registered"))
                           : LowerGraph(*cluster_, kiln::StrCat("cluster_", fingerprint_), dims);
    if (!module.ok()) {
      return CompilationCache::Global().GetOrCompile(
          kiln::StrCat("graph#", fingerprint_, "|", backend_, signature),
          [&] { return Failed(module.status()); }, lookup);
    }
    const auto key_start = std::chrono::steady_clock::now();
    const std::string key = CompilationKey(**module, *backend);
    backends::CompileTimes front;  // The JIT's own phases; the backend fills in the rest.
    front.lower_ms = std::chrono::duration<double, std::milli>(key_start - start).count();
    front.cache_key_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - key_start).count();
    return CompilationCache::Global().GetOrCompile(
        key, [&] { return Compile(*std::move(module), *backend, dims, start, front); }, lookup);
  }

  std::shared_ptr<const CompiledCluster> Compile(std::unique_ptr<hlo::Module> module, backends::Backend& backend,
                                                 const std::vector<kiln::Dims>& dims,
                                                 std::chrono::steady_clock::time_point start,
                                                 const backends::CompileTimes& front) const {
    absl::StatusOr<std::unique_ptr<backends::Executable>> executable = CompileModule(std::move(module), backend);
    if (!executable.ok()) return Failed(executable.status());
    backends::CompileTimes& times = (*executable)->mutable_compile_times();
    times.lower_ms = front.lower_ms;
    times.cache_key_ms = front.cache_key_ms;
    if (!dump_to_.empty()) {
      std::ofstream(kiln::StrCat(dump_to_, "/cluster_", fingerprint_, ".compile.txt"), std::ios::app)
          << times.ToString() << "\n";
    }
    if (GetFlags().log_compiles) {
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      std::vector<std::string> shapes;
      for (const kiln::Dims& d : dims) shapes.push_back(DimsToString(d));
      Log(LogSeverity::kInfo, absl::StrFormat("JIT: compiled cluster %s (%zu ops, inputs %s) with %s in %.1f ms; %s",
                                              fingerprint_, cluster_->nodes.size(), absl::StrJoin(shapes, " "),
                                              backend_, ms, times.ToString()));
    }
    auto result = std::make_shared<CompiledCluster>();
    result->executable = *std::move(executable);
    return result;
  }

  std::shared_ptr<const CompiledCluster> Failed(const absl::Status& failure) const {
    Log(LogSeverity::kWarning, absl::StrFormat("JIT: cluster %s of node '%s' (%zu ops) runs with the runtime kernels: %s",
                                               fingerprint_, node_name_, cluster_->nodes.size(), failure.ToString()));
    auto result = std::make_shared<CompiledCluster>();
    result->failure = failure;
    return result;
  }

  absl::StatusOr<std::unique_ptr<backends::Executable>> CompileModule(std::unique_ptr<hlo::Module> module,
                                                                      backends::Backend& backend) const {
    if (!dump_to_.empty()) {
      if (absl::Status s = DumpHlo(dump_to_, fingerprint_, *module); !s.ok()) {
        Log(LogSeverity::kWarning, kiln::StrCat("JIT: ", s.ToString()));
      }
    }
    std::vector<std::string> unsupported = UnsupportedInstructions(*module, backend);
    if (!unsupported.empty()) {
      return absl::UnimplementedError(kiln::StrCat("backend ", backend_, " does not support ",
                                                   absl::StrJoin(unsupported, ", ")));
    }
    backends::CompileOptions options;
    options.dump_to = dump_to_;
    return backend.Compile(std::move(module), options);
  }

  absl::Status RunExecutable(const backends::Executable& executable, KernelContext& ctx) const {
    const std::vector<hlo::Shape>& result_shapes = executable.result_shapes();
    if (static_cast<int>(result_shapes.size()) != ctx.num_outputs()) {
      return ctx.Error(kiln::StrCat("executable has ", result_shapes.size(), " results for ",
                                    ctx.num_outputs(), " outputs"));
    }
    std::vector<backends::BufferRef> args, results;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& t = ctx.input(i);
      args.push_back({const_cast<void*>(t.raw_data()), t.byte_size()});
    }
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      if (result_shapes[i].element_type() != hlo::PrimitiveType::F32) {
        return ctx.Error(kiln::StrCat("result ", i, " is ", result_shapes[i].ToString(false), ", not f32"));
      }
      KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(i, DType::kF32, result_shapes[i].dimensions()));
      results.push_back({out->raw_data(), out->byte_size()});
    }
    backends::RunContext run_context;
    absl::Status status = executable.Run(args, results, run_context);
    if (!status.ok()) {
      return Annotate(status, kiln::StrCat(kLaunchOp, " node '", node_name_, "' (cluster ", fingerprint_,
                                           "); rerun with KILN_FLAGS=--auto_jit=0 to bypass the JIT"));
    }
    return absl::OkStatus();
  }

  absl::Status RunFallback(const Executor& executor, KernelContext& ctx) const {
    Feeds feeds;
    for (int i = 0; i < ctx.num_inputs(); ++i) feeds.emplace_back(cluster_->inputs[i].name, ctx.input(i));
    std::vector<std::string> fetches;
    for (const ValueInfo& out : cluster_->outputs) fetches.push_back(out.name);
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, executor.Run(feeds, fetches));
    for (size_t i = 0; i < outputs.size(); ++i) ctx.SetOutput(static_cast<int>(i), std::move(outputs[i]));
    return absl::OkStatus();
  }

  std::shared_ptr<const Graph> cluster_;
  std::string node_name_;
  std::string backend_;
  std::string fingerprint_;
  std::string dump_to_;
  bool measure_choice_ = true;
  std::optional<StaticSignature> static_signature_;
  mutable std::atomic<int64_t> compilations_{0}, hits_{0}, failures_{0}, compile_ns_{0}, kernels_chosen_{0};
  mutable std::mutex mu_;  // Guards by_signature_.
  mutable std::map<std::string, std::shared_ptr<const SignatureEntry>> by_signature_;
};

absl::Status LaunchShapeFn(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Graph> cluster, ctx.node().GetGraph("cluster"));
  if (cluster == nullptr) return ctx.Error("attribute 'cluster' holds no graph");
  if (ctx.num_inputs() != static_cast<int>(cluster->inputs.size())) {
    return ctx.Error(kiln::StrCat("has ", ctx.num_inputs(), " inputs; its cluster takes ", cluster->inputs.size()));
  }
  std::map<std::string, TensorType> overrides;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error(kiln::StrCat("input ", i, " is missing"));
    TensorType t = ctx.input(i);
    t.value.reset();  // The cluster is compiled for shapes, not values.
    overrides[cluster->inputs[i].name] = std::move(t);
  }
  absl::StatusOr<std::map<std::string, TensorType>> types = InferTypes(*cluster, overrides);
  if (!types.ok()) return ctx.Error(kiln::StrCat("in its cluster: ", types.status().message()));
  for (size_t i = 0; i < cluster->outputs.size(); ++i) {
    auto it = types->find(cluster->outputs[i].name);
    if (it == types->end()) {
      return ctx.Error(kiln::StrCat("cluster output '", cluster->outputs[i].name, "' has no type"));
    }
    ctx.set_output(static_cast<int>(i), it->second);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<OpKernel>> MakeLaunchKernel(const KernelConstruction& kc) {
  const Node& node = kc.node;
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Graph> cluster, node.GetGraph("cluster"));
  if (cluster == nullptr) {
    return absl::InvalidArgumentError(kiln::StrCat(kLaunchOp, " node '", node.name, "' has no cluster"));
  }
  KILN_ASSIGN_OR_RETURN(std::string backend, node.GetString("backend", std::string("cpu")));
  KILN_ASSIGN_OR_RETURN(std::string fingerprint, node.GetString("fingerprint", Fingerprint(*cluster)));
  KILN_ASSIGN_OR_RETURN(std::string dump_to, node.GetString("dump_to", std::string()));
  KILN_ASSIGN_OR_RETURN(int64_t measure_choice, node.GetInt("measure_choice", 0));
  return std::make_unique<LaunchKernel>(std::move(cluster), node.name, std::move(backend),
                                        std::move(fingerprint), std::move(dump_to), measure_choice != 0,
                                        kc.input_types);
}

}  // namespace

CacheStats LaunchKernelStats(const OpKernel& kernel) {
  const auto* launch = dynamic_cast<const LaunchKernel*>(&kernel);
  return launch != nullptr ? launch->stats() : CacheStats{};
}

int CompileClustersInParallel(const std::vector<const OpKernel*>& kernels) {
  std::vector<const LaunchKernel*> launches;
  for (const OpKernel* kernel : kernels) {
    const auto* launch = dynamic_cast<const LaunchKernel*>(kernel);
    if (launch != nullptr && launch->has_static_signature()) launches.push_back(launch);
  }
  if (launches.size() < 2) return 0;
  const int threads =
      static_cast<int>(std::min<size_t>(launches.size(), std::max(1u, std::thread::hardware_concurrency())));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < launches.size(); i = next++) launches[i]->Precompile();
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return static_cast<int>(launches.size());
}

void RegisterJitOps() {
  static std::once_flag once;
  std::call_once(once, [] {
    const absl::Status registered =
        OpRegistry::Global().Register(kernels::MakeOpDef(kLaunchOp, 0, -1, LaunchShapeFn, MakeLaunchKernel, -1));
    KILN_CHECK(registered.ok(), kiln::StrCat("registering ", kLaunchOp, ": ", registered.message()));
  });
}

}  // namespace kiln::jit
