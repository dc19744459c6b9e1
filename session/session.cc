#include "kiln/session/session.h"

#include <chrono>

#include "kiln/support/strings.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/constant_folding.h"
#include "kiln/runtime/import.h"
#include "kiln/support/files.h"
#include "kiln/support/flags.h"
#include "kiln/support/status.h"

namespace kiln {

namespace {

// SessionOptions with KILN_FLAGS' values filled in.
struct ResolvedOptions {
  jit::JitOptions jit;
  int inter_op_threads = 1;
  bool fold_constants = true;
};

// Fills in KILN_FLAGS' values and checks what does not depend on the model: KILN_FLAGS itself and, with
// the JIT on, the dump folder (created now, so that it is not found unwritable when a cluster compiles).
absl::StatusOr<ResolvedOptions> Resolve(const SessionOptions& options) {
  KILN_ASSIGN_OR_RETURN(Flags flags, EnvFlags());
  ResolvedOptions resolved;
  jit::JitOptions& jit = resolved.jit;
  jit.auto_jit = options.auto_jit >= 0 ? options.auto_jit : flags.auto_jit;
  jit.min_cluster_size = options.min_cluster_size >= 0 ? options.min_cluster_size : flags.min_cluster_size;
  jit.dump_to = !options.dump_to.empty() ? options.dump_to : flags.dump_to;
  jit.backend = !options.backend.empty() ? options.backend : flags.backend;
  jit.measure_choice = options.measure_choice >= 0 ? options.measure_choice > 0 : flags.measure_choice;
  resolved.inter_op_threads = options.inter_op_threads >= 0 ? options.inter_op_threads : flags.inter_op_threads;
  resolved.fold_constants = options.fold_constants >= 0 ? options.fold_constants > 0 : flags.fold_constants;
  if (jit.auto_jit > 0 && !jit.dump_to.empty()) {
    KILN_RETURN_IF_ERROR(CheckOutputFolder(jit.dump_to, /*create=*/true, "--dump_to folder"));
  }
  return resolved;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Graph graph, const SessionOptions& options) {
  RegisterStandardOps();
  KILN_ASSIGN_OR_RETURN(ResolvedOptions resolved, Resolve(options));
  std::unique_ptr<Session> session(new Session());
  session->original_ = std::make_shared<const Graph>(graph);
  // Folding runs before clustering, so that folded weights are initializers the JIT sees as constants.
  if (resolved.fold_constants) {
    KILN_ASSIGN_OR_RETURN(ConstantFoldingStats folding, FoldConstantNodes(&graph));
    KILN_ASSIGN_OR_RETURN(int fused, FuseConvBatchNorm(&graph));
    session->folded_nodes_ = folding.folded_nodes + fused;
  }
  if (resolved.jit.auto_jit > 0) {
    jit::RegisterJitOps();
    KILN_ASSIGN_OR_RETURN(auto types, InferTypes(graph));
    KILN_ASSIGN_OR_RETURN(int clusters, jit::MarkAndEncapsulate(graph, types, resolved.jit));
    session->jit_ = clusters > 0;
  }
  ExecutorOptions executor_options;
  executor_options.memory_plan = options.memory_plan;
  executor_options.inter_op_threads = resolved.inter_op_threads;
  KILN_ASSIGN_OR_RETURN(session->executor_,
                   Executor::Create(std::make_shared<const Graph>(std::move(graph)), executor_options));
  return session;
}

absl::StatusOr<std::unique_ptr<Session>> Session::Load(const std::string& path,
                                                       const SessionOptions& options) {
  // KILN_FLAGS and the dump folder first: their errors are not about the model.
  KILN_RETURN_IF_ERROR(Resolve(options).status());
  KILN_ASSIGN_OR_RETURN(Graph graph, ImportModel(path));
  // Type and shape checks of the imported graph name the model, as the importers' errors do.
  absl::StatusOr<std::unique_ptr<Session>> session = Create(std::move(graph), options);
  if (!session.ok()) return Annotate(session.status(), kiln::StrCat("model '", path, "'"));
  return session;
}

absl::StatusOr<std::vector<Tensor>> Session::Run(const Feeds& feeds,
                                                 const std::vector<std::string>& fetches) const {
  if (jit_) {
    std::call_once(compile_clusters_, [this] {
      std::vector<const OpKernel*> kernels;
      for (size_t i = 0; i < executor_->graph().nodes.size(); ++i) {
        kernels.push_back(&executor_->kernel(static_cast<int>(i)));
      }
      const auto start = std::chrono::steady_clock::now();
      compiled_in_parallel_ = jit::CompileClustersInParallel(kernels);
      parallel_compile_ns_ =
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    });
  }
  if (!fetches.empty()) return executor_->Run(feeds, fetches);
  std::vector<std::string> outputs;
  for (const ValueInfo& out : original_->outputs) outputs.push_back(out.name);
  return executor_->Run(feeds, outputs);
}

SessionStats Session::stats() const {
  SessionStats stats;
  stats.folded_nodes = folded_nodes_;
  stats.compiled_in_parallel = compiled_in_parallel_.load();
  stats.parallel_compile_ms = static_cast<double>(parallel_compile_ns_.load()) * 1e-6;
  const std::vector<Node>& nodes = executor_->graph().nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].op != "_KilnLaunch") continue;
    ++stats.num_clusters;
    const jit::CacheStats own = jit::LaunchKernelStats(executor_->kernel(static_cast<int>(i)));
    stats.compilations += own.compilations;
    stats.cache_hits += own.hits;
    stats.failures += own.failures;
    stats.compile_ms += own.compile_ms;
    stats.kernels_chosen += own.kernels_chosen;
  }
  return stats;
}

}  // namespace kiln
