#include "kiln/runtime/session.h"

#include "kiln/jit/jit.h"
#include "kiln/runtime/import.h"
#include "kiln/support/flags.h"
#include "kiln/support/status.h"

namespace kiln {

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Graph graph, const SessionOptions& options) {
  RegisterStandardOps();
  const Flags& flags = GetFlags();
  jit::JitOptions jit_options;
  jit_options.auto_jit = options.auto_jit >= 0 ? options.auto_jit : flags.auto_jit;
  jit_options.min_cluster_size =
      options.min_cluster_size >= 0 ? options.min_cluster_size : flags.min_cluster_size;
  jit_options.dump_to = !options.dump_to.empty() ? options.dump_to : flags.dump_to;
  jit_options.backend = !options.backend.empty() ? options.backend : flags.backend;

  std::unique_ptr<Session> session(new Session());
  session->original_ = std::make_shared<const Graph>(graph);
  if (jit_options.auto_jit > 0) {
    jit::RegisterJitOps();
    ASSIGN_OR_RETURN(auto types, InferTypes(graph));
    RETURN_IF_ERROR(jit::MarkAndEncapsulate(graph, types, jit_options).status());
  }
  ExecutorOptions executor_options;
  executor_options.memory_plan = options.memory_plan;
  executor_options.inter_op_threads = options.inter_op_threads >= 0 ? options.inter_op_threads : flags.inter_op_threads;
  ASSIGN_OR_RETURN(session->executor_,
                   Executor::Create(std::make_shared<const Graph>(std::move(graph)), executor_options));
  return session;
}

absl::StatusOr<std::unique_ptr<Session>> Session::Load(const std::string& path,
                                                       const SessionOptions& options) {
  ASSIGN_OR_RETURN(Graph graph, ImportModel(path));
  return Create(std::move(graph), options);
}

absl::StatusOr<std::vector<Tensor>> Session::Run(const Feeds& feeds,
                                                 const std::vector<std::string>& fetches) const {
  if (!fetches.empty()) return executor_->Run(feeds, fetches);
  std::vector<std::string> outputs;
  for (const ValueInfo& out : original_->outputs) outputs.push_back(out.name);
  return executor_->Run(feeds, outputs);
}

SessionStats Session::stats() const {
  SessionStats stats;
  for (const Node& node : executor_->graph().nodes) {
    if (node.op == "_KilnLaunch") ++stats.num_clusters;
  }
  jit::CacheStats cache = jit::GetCacheStats();
  stats.compilations = cache.compilations;
  stats.cache_hits = cache.hits;
  return stats;
}

}  // namespace kiln
