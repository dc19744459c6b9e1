// The "_KilnLaunch" op: runs one encapsulated cluster through the compilation cache.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jit/compilation_cache.h"
#include "jit/encapsulate.h"
#include "jit/lower.h"
#include "kiln/backends/backend.h"
#include "kiln/jit/jit.h"
#include "kiln/support/flags.h"
#include "kiln/support/log.h"
#include "kiln/support/status.h"

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
        absl::StrCat("cannot create dump folder '", dir, "': ", ec.message(), "; check --dump_to"));
  }
  std::string path = absl::StrCat(dir, "/cluster_", fingerprint, "_", next_dump_index++, ".hlo.txt");
  std::ofstream out(path);
  out << module.ToString();
  out.close();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write HLO dump '", path, "'"));
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
    return s;
  }

  LaunchKernel(std::shared_ptr<const Graph> cluster, std::string node_name, std::string backend,
               std::string fingerprint, std::string dump_to)
      : cluster_(std::move(cluster)),
        node_name_(std::move(node_name)),
        backend_(std::move(backend)),
        fingerprint_(std::move(fingerprint)),
        dump_to_(std::move(dump_to)) {}

  absl::Status Compute(KernelContext& ctx) const override {
    if (ctx.num_inputs() != static_cast<int>(cluster_->inputs.size())) {
      return ctx.Error(absl::StrCat("has ", ctx.num_inputs(), " inputs; its cluster takes ",
                                    cluster_->inputs.size()));
    }
    std::vector<kiln::Dims> dims;
    std::string key = absl::StrCat(fingerprint_, "|", backend_);
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i)) return ctx.Error(absl::StrCat("input ", i, " is missing"));
      const Tensor& t = ctx.input(i);
      if (t.dtype() != cluster_->inputs[i].dtype) {
        return ctx.Error(absl::StrCat("input ", i, " ('", cluster_->inputs[i].name, "') is ",
                                      t.TypeString(), "; the cluster was formed for ",
                                      DTypeName(cluster_->inputs[i].dtype)));
      }
      dims.push_back(t.dims());
      absl::StrAppend(&key, "|", t.TypeString());
    }
    CompilationCache::Lookup lookup = CompilationCache::Lookup::kHit;
    std::shared_ptr<const CompiledCluster> compiled =
        CompilationCache::Global().GetOrCompile(key, [&] { return Compile(dims); }, &lookup);
    switch (lookup) {
      // A hit on a remembered failure runs on the kernels: it counts as a failure, not a hit.
      case CompilationCache::Lookup::kHit: ++(compiled->executable != nullptr ? hits_ : failures_); break;
      case CompilationCache::Lookup::kCompiled: ++compilations_; break;
      case CompilationCache::Lookup::kFailed: ++failures_; break;
    }
    if (compiled->executable != nullptr) return RunExecutable(*compiled->executable, ctx);
    if (compiled->fallback == nullptr) {
      return ctx.Error(absl::StrCat("cluster ", fingerprint_,
                                    " could neither be compiled nor run with the runtime kernels: ",
                                    compiled->failure.message()));
    }
    return RunFallback(*compiled->fallback, ctx);
  }

 private:
  std::shared_ptr<const CompiledCluster> Compile(const std::vector<kiln::Dims>& dims) const {
    auto result = std::make_shared<CompiledCluster>();
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::unique_ptr<backends::Executable>> executable = LowerAndCompile(dims);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::vector<std::string> shapes;
    for (const kiln::Dims& d : dims) shapes.push_back(DimsToString(d));
    if (executable.ok()) {
      if (GetFlags().log_compiles) {
        Log(LogSeverity::kInfo, absl::StrFormat("JIT: compiled cluster %s (%zu ops, inputs %s) with %s in %.1f ms",
                                                fingerprint_, cluster_->nodes.size(), absl::StrJoin(shapes, " "),
                                                backend_, ms));
      }
      result->executable = *std::move(executable);
      return result;
    }
    result->failure = executable.status();
    Log(LogSeverity::kWarning, absl::StrFormat("JIT: cluster %s of node '%s' (%zu ops) runs with the runtime kernels: %s",
                                               fingerprint_, node_name_, cluster_->nodes.size(),
                                               result->failure.ToString()));
    // The fallback executor sees the cluster with this signature's input dims.
    auto graph = std::make_shared<Graph>(*cluster_);
    for (size_t i = 0; i < graph->inputs.size(); ++i) graph->inputs[i].dims = dims[i];
    absl::StatusOr<std::unique_ptr<Executor>> fallback = Executor::Create(graph);
    if (fallback.ok()) {
      result->fallback = *std::move(fallback);
    } else {
      result->failure = Annotate(fallback.status(), result->failure.ToString());
    }
    return result;
  }

  absl::StatusOr<std::unique_ptr<backends::Executable>> LowerAndCompile(const std::vector<kiln::Dims>& dims) const {
    backends::RegisterBackends();
    backends::Backend* backend = backends::BackendRegistry::Global().Find(backend_);
    if (backend == nullptr) {
      return absl::NotFoundError(absl::StrCat("JIT backend '", backend_, "' is not registered"));
    }
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<hlo::Module> module,
                     LowerGraph(*cluster_, absl::StrCat("cluster_", fingerprint_), dims));
    if (!dump_to_.empty()) {
      if (absl::Status s = DumpHlo(dump_to_, fingerprint_, *module); !s.ok()) {
        Log(LogSeverity::kWarning, absl::StrCat("JIT: ", s.ToString()));
      }
    }
    std::vector<std::string> unsupported = UnsupportedInstructions(*module, *backend);
    if (!unsupported.empty()) {
      return absl::UnimplementedError(absl::StrCat("backend ", backend_, " does not support ",
                                                   absl::StrJoin(unsupported, ", ")));
    }
    backends::CompileOptions options;
    options.dump_to = dump_to_;
    return backend->Compile(std::move(module), options);
  }

  absl::Status RunExecutable(const backends::Executable& executable, KernelContext& ctx) const {
    const std::vector<hlo::Shape>& result_shapes = executable.result_shapes();
    if (static_cast<int>(result_shapes.size()) != ctx.num_outputs()) {
      return ctx.Error(absl::StrCat("executable has ", result_shapes.size(), " results for ",
                                    ctx.num_outputs(), " outputs"));
    }
    std::vector<backends::BufferRef> args, results;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& t = ctx.input(i);
      args.push_back({const_cast<void*>(t.raw_data()), t.byte_size()});
    }
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      if (result_shapes[i].element_type() != hlo::PrimitiveType::F32) {
        return ctx.Error(absl::StrCat("result ", i, " is ", result_shapes[i].ToString(false), ", not f32"));
      }
      KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(i, DType::kF32, result_shapes[i].dimensions()));
      results.push_back({out->raw_data(), out->byte_size()});
    }
    backends::RunContext run_context;
    absl::Status status = executable.Run(args, results, run_context);
    if (!status.ok()) {
      return Annotate(status, absl::StrCat(kLaunchOp, " node '", node_name_, "' (cluster ", fingerprint_,
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
  mutable std::atomic<int64_t> compilations_{0}, hits_{0}, failures_{0};
};

absl::Status LaunchShapeFn(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Graph> cluster, ctx.node().GetGraph("cluster"));
  if (cluster == nullptr) return ctx.Error("attribute 'cluster' holds no graph");
  if (ctx.num_inputs() != static_cast<int>(cluster->inputs.size())) {
    return ctx.Error(absl::StrCat("has ", ctx.num_inputs(), " inputs; its cluster takes ", cluster->inputs.size()));
  }
  std::map<std::string, TensorType> overrides;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error(absl::StrCat("input ", i, " is missing"));
    TensorType t = ctx.input(i);
    t.value.reset();  // The cluster is compiled for shapes, not values.
    overrides[cluster->inputs[i].name] = std::move(t);
  }
  absl::StatusOr<std::map<std::string, TensorType>> types = InferTypes(*cluster, overrides);
  if (!types.ok()) return ctx.Error(absl::StrCat("in its cluster: ", types.status().message()));
  for (size_t i = 0; i < cluster->outputs.size(); ++i) {
    auto it = types->find(cluster->outputs[i].name);
    if (it == types->end()) {
      return ctx.Error(absl::StrCat("cluster output '", cluster->outputs[i].name, "' has no type"));
    }
    ctx.set_output(static_cast<int>(i), it->second);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<OpKernel>> MakeLaunchKernel(const KernelConstruction& kc) {
  const Node& node = kc.node;
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Graph> cluster, node.GetGraph("cluster"));
  if (cluster == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(kLaunchOp, " node '", node.name, "' has no cluster"));
  }
  KILN_ASSIGN_OR_RETURN(std::string backend, node.GetString("backend", std::string("cpu")));
  KILN_ASSIGN_OR_RETURN(std::string fingerprint, node.GetString("fingerprint", Fingerprint(*cluster)));
  KILN_ASSIGN_OR_RETURN(std::string dump_to, node.GetString("dump_to", std::string()));
  return std::make_unique<LaunchKernel>(std::move(cluster), node.name, std::move(backend),
                                        std::move(fingerprint), std::move(dump_to));
}

}  // namespace

CacheStats LaunchKernelStats(const OpKernel& kernel) {
  const auto* launch = dynamic_cast<const LaunchKernel*>(&kernel);
  return launch != nullptr ? launch->stats() : CacheStats{};
}

void RegisterJitOps() {
  static std::once_flag once;
  std::call_once(once, [] {
    OpDef def;
    def.name = kLaunchOp;
    def.min_inputs = 0;
    def.max_inputs = -1;
    def.num_outputs = -1;
    def.shape_fn = LaunchShapeFn;
    def.kernel_factory = MakeLaunchKernel;
    const absl::Status registered = OpRegistry::Global().Register(std::move(def));
    KILN_CHECK(registered.ok(), absl::StrCat("registering ", kLaunchOp, ": ", registered.message()));
  });
}

}  // namespace kiln::jit
