// `kiln info`: a model's interface, op histogram and JIT clusters.
#include <algorithm>
#include <map>

#include "kiln/support/strings.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kiln/runtime/import.h"
#include "kiln/session/session.h"
#include "kiln/support/status.h"
#include "tools/kiln/args.h"
#include "tools/kiln/cli.h"
#include "tools/kiln/common.h"
#include "tools/kiln/memory_report.h"

namespace kiln::cli {
namespace {

// "Conv x27, Clip x27, ..." by descending count, then name; only nodes whose op `keep` accepts.
std::string Histogram(const std::vector<Node>& nodes, bool (*keep)(const std::string& op) = nullptr) {
  std::map<std::string, int> counts;
  for (const Node& node : nodes) {
    if (keep == nullptr || keep(node.op)) ++counts[node.op];
  }
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return absl::StrJoin(sorted, ", ", [](std::string* out, const auto& entry) {
    kiln::StrAppend(out, entry.first, " x", entry.second);
  });
}

}  // namespace

absl::Status InfoCommand(const std::vector<std::string>& args, std::ostream& out) {
  KILN_ASSIGN_OR_RETURN(ParsedArgs parsed, ParseArgs(args, {}, {"memory"}));
  if (parsed.positional.size() != 1) return UsageError("kiln info takes exactly one MODEL");
  const std::string& model = parsed.positional[0];
  KILN_ASSIGN_OR_RETURN(Graph graph, ImportModel(model));

  out << "model " << model << (graph.name.empty() ? "" : kiln::StrCat(" (graph '", graph.name, "')")) << "\n";
  out << "inputs:\n";
  for (const ValueInfo* info : FedInputs(graph)) out << "  " << info->name << "  " << ValueTypeText(*info) << "\n";
  out << "outputs:\n";
  for (const ValueInfo& info : graph.outputs) out << "  " << info.name << "  " << ValueTypeText(info) << "\n";
  int64_t parameters = 0;
  for (const auto& [name, tensor] : graph.initializers) parameters += std::max<int64_t>(tensor.num_elements(), 0);
  out << absl::StrFormat("initializers: %d tensors, %d values\n", graph.initializers.size(), parameters);
  out << "ops (" << graph.nodes.size() << "): " << Histogram(graph.nodes) << "\n";
  const std::string where = kiln::StrCat("model '", model, "'");
  if (parsed.Has("memory")) KILN_RETURN_IF_ERROR(Annotate(PrintMemoryPlan(graph, out), where));

  // Clusters as the JIT would form them (clustering happens when the session is created; nothing
  // is compiled until a run).
  SessionOptions options;
  options.auto_jit = 2;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(std::move(graph), options);
  if (!session.ok()) {
    out << "jit clusters: unavailable\n";
    return Annotate(session.status(), where);
  }
  const Graph& executed = (*session)->executed_graph();
  int clustered_ops = 0, launches = 0;
  std::vector<std::string> lines;
  for (const Node& node : executed.nodes) {
    if (node.op != "_KilnLaunch") continue;
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Graph> cluster, node.GetGraph("cluster"));
    clustered_ops += static_cast<int>(cluster->nodes.size());
    lines.push_back(absl::StrFormat("  %d. %s: %d ops (%s)", ++launches, node.name, cluster->nodes.size(),
                                    Histogram(cluster->nodes)));
  }
  const int outside = static_cast<int>(executed.nodes.size()) - launches;
  out << absl::StrFormat("jit clusters (--auto_jit=2, --min_cluster_size as in KILN_FLAGS): %d cluster(s), %d ops "
                         "clustered, %d ops outside clusters\n",
                         launches, clustered_ops, outside);
  for (const std::string& line : lines) out << line << "\n";
  if (outside > 0) {
    out << "  outside clusters: "
        << Histogram(executed.nodes, [](const std::string& op) { return op != "_KilnLaunch"; }) << "\n";
  }
  return absl::OkStatus();
}

}  // namespace kiln::cli
