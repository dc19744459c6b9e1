#include "runtime/import/graph_checks.h"

#include <map>
#include <memory>
#include <queue>
#include <variant>
#include <vector>

#include "kiln/support/strings.h"
#include "kiln/runtime/op_registry.h"
#include "kiln/support/status.h"

namespace kiln::import_checks {
namespace {

std::string NodeText(const Node& node) { return kiln::StrCat("node '", node.name, "' (", node.op, ")"); }

// Declared shapes with a dim, or known extents that multiply to, more than kMaxDeclaredElements are
// corrupt (an empty tensor too: strides over a huge dim would overflow).
absl::Status CheckDeclaredDims(const ValueInfo& info, std::string_view kind) {
  int64_t known = 1;
  bool too_big = false;
  for (int64_t d : info.dims) {
    if (d < -1) {
      return absl::InvalidArgumentError(
          kiln::StrCat("graph ", kind, " '", info.name, "' has a negative dimension ", d));
    }
    if (d < 0) continue;
    too_big = too_big || d > kMaxDeclaredElements;
    if (d == 0 || known == 0) {
      known = 0;
      continue;
    }
    known = known > kMaxDeclaredElements / d ? kMaxDeclaredElements + 1 : known * d;
  }
  if (known > kMaxDeclaredElements || too_big) {
    return absl::InvalidArgumentError(kiln::StrCat("graph ", kind, " '", info.name, "' declares dims ",
                                                   DimsToString(info.dims), ", more than the ", kMaxDeclaredElements,
                                                   " elements (or a dimension that large) Kiln accepts for one tensor"));
  }
  return absl::OkStatus();
}

absl::Status CheckGraphImpl(const Graph& graph, bool check_ops, const std::set<std::string>& outer_scope,
                            int depth) {
  if (depth > kMaxSubgraphDepth) {
    return absl::InvalidArgumentError(kiln::StrCat("subgraphs are nested more than ", kMaxSubgraphDepth,
                                                   " deep (graph '", graph.name, "')"));
  }
  const int n = static_cast<int>(graph.nodes.size());
  std::set<std::string> inputs;
  for (const ValueInfo& in : graph.inputs) {
    if (in.name.empty()) return absl::InvalidArgumentError("a graph input has no name");
    if (!inputs.insert(in.name).second) {
      return absl::InvalidArgumentError(kiln::StrCat("graph input '", in.name, "' is declared twice"));
    }
    KILN_RETURN_IF_ERROR(CheckDeclaredDims(in, "input"));
  }
  for (const ValueInfo& out : graph.outputs) KILN_RETURN_IF_ERROR(CheckDeclaredDims(out, "output"));
  std::map<std::string, int> producer;
  std::map<std::string, int> by_name;
  const OpRegistry& registry = OpRegistry::Global();
  for (int i = 0; i < n; ++i) {
    const Node& node = graph.nodes[i];
    if (node.op.empty()) return absl::InvalidArgumentError(kiln::StrCat("node '", node.name, "' has no op"));
    if (node.name.empty()) {
      return absl::InvalidArgumentError(kiln::StrCat("a ", node.op, " node (number ", i, ") has no name"));
    }
    if (!by_name.emplace(node.name, i).second) {
      return absl::InvalidArgumentError(kiln::StrCat("two nodes are named '", node.name, "'"));
    }
    if (check_ops && registry.Find(node.op) == nullptr) {
      return absl::UnimplementedError(
          kiln::StrCat("node '", node.name, "' has op '", node.op, "' that Kiln does not implement"));
    }
    for (const std::string& out : node.outputs) {
      if (out.empty()) continue;
      auto [it, inserted] = producer.emplace(out, i);
      if (!inserted) {
        return absl::InvalidArgumentError(kiln::StrCat("value '", out, "' is produced by both node '",
                                                       graph.nodes[it->second].name, "' and node '", node.name, "'"));
      }
      if (inputs.count(out) || graph.initializers.count(out)) {
        return absl::InvalidArgumentError(kiln::StrCat(NodeText(node), " produces '", out,
                                                       "', which is also a graph input or initializer"));
      }
    }
  }

  // Values visible to subgraphs of this graph.
  std::set<std::string> scope = outer_scope;
  scope.insert(inputs.begin(), inputs.end());
  for (const auto& [name, tensor] : graph.initializers) scope.insert(name);
  for (const auto& [name, index] : producer) scope.insert(name);

  std::vector<std::vector<int>> users(n);
  std::vector<int> pending(n, 0);
  for (int i = 0; i < n; ++i) {
    const Node& node = graph.nodes[i];
    std::set<int> preds;
    for (const std::string& in : node.inputs) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it != producer.end()) {
        preds.insert(it->second);
        continue;
      }
      if (scope.count(in)) continue;
      return absl::InvalidArgumentError(kiln::StrCat(
          NodeText(node), " reads '", in,
          "', which no node, graph input or initializer provides (a missing initializer?)"));
    }
    for (const std::string& c : node.control_inputs) {
      auto it = by_name.find(c);
      if (it == by_name.end()) {
        return absl::InvalidArgumentError(
            kiln::StrCat(NodeText(node), " has a control input '", c, "' that names no node of its graph"));
      }
      preds.insert(it->second);
    }
    pending[i] = static_cast<int>(preds.size());
    for (int p : preds) users[p].push_back(i);
    for (const auto& [key, value] : node.attrs) {
      const auto* sub = std::get_if<std::shared_ptr<const Graph>>(&value);
      if (sub == nullptr) continue;
      if (*sub == nullptr) {
        return absl::InvalidArgumentError(kiln::StrCat(NodeText(node), " attribute '", key, "' holds no graph"));
      }
      KILN_RETURN_IF_ERROR(Annotate(CheckGraphImpl(**sub, check_ops, scope, depth + 1),
                               kiln::StrCat(NodeText(node), " attribute '", key, "' (subgraph '", (*sub)->name, "')")));
    }
  }
  for (const ValueInfo& out : graph.outputs) {
    if (out.name.empty()) return absl::InvalidArgumentError("a graph output has no name");
    if (!scope.count(out.name)) {
      return absl::InvalidArgumentError(
          kiln::StrCat("graph output '", out.name, "' is not produced by any node, input or initializer"));
    }
  }

  // Kahn's algorithm: nodes never released lie on a cycle or behind one.
  std::queue<int> ready;
  for (int i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  int done = 0;
  while (!ready.empty()) {
    const int i = ready.front();
    ready.pop();
    ++done;
    for (int u : users[i]) {
      if (--pending[u] == 0) ready.push(u);
    }
  }
  if (done == n) return absl::OkStatus();
  // Name a node that is on a cycle, not merely behind one: walk back through unreleased
  // predecessors until a node repeats.
  std::vector<std::vector<int>> preds(n);
  for (int p = 0; p < n; ++p) {
    for (int u : users[p]) preds[u].push_back(p);
  }
  int at = 0;
  while (pending[at] == 0) ++at;
  std::vector<bool> seen(n, false);
  while (!seen[at]) {
    seen[at] = true;
    for (int p : preds[at]) {
      if (pending[p] > 0) {
        at = p;
        break;
      }
    }
  }
  return absl::InvalidArgumentError(kiln::StrCat("the nodes form a cycle through ", NodeText(graph.nodes[at]),
                                                 "; a graph must be acyclic"));
}

}  // namespace

absl::Status CheckGraph(const Graph& graph, bool check_ops, const std::set<std::string>& outer_scope, int depth) {
  return CheckGraphImpl(graph, check_ops, outer_scope, depth);
}

}  // namespace kiln::import_checks
