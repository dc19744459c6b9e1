#include "jit/mark_for_compilation.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "jit/lower.h"
#include "kiln/backends/backend.h"
#include "kiln/support/status.h"

namespace kiln::jit {

std::optional<Tensor> StaticConstant(const Graph& graph, const std::map<std::string, TensorType>& types,
                                     const std::string& value, int auto_jit) {
  if (value.empty()) return std::nullopt;
  if (graph.FindInput(value) != nullptr) return std::nullopt;  // Fed at run time.
  if (auto it = graph.initializers.find(value); it != graph.initializers.end()) return it->second;
  int producer = graph.FindProducer(value);
  if (producer >= 0 && graph.nodes[producer].op == "Constant") {
    absl::StatusOr<Tensor> t = graph.nodes[producer].GetTensor("value");
    if (t.ok()) return *t;
  }
  if (auto_jit >= 2) {
    auto it = types.find(value);
    if (it != types.end() && it->second.value.has_value()) return it->second.value;
  }
  return std::nullopt;
}

namespace {

bool IsStaticF32(const TensorType& t) { return t.dtype == DType::kF32 && t.fully_defined(); }

// The reason node `index` cannot be compiled, or "" when it can. `backend` may be null (no check of
// backend support).
std::string WhyNotCompilable(const Graph& graph, const std::map<std::string, TensorType>& types,
                             const JitOptions& options, const backends::Backend* backend, int index) {
  const Node& node = graph.nodes[index];
  if (!HasLowering(node.op)) return kiln::StrCat("op ", node.op, " has no lowering to HLO");
  for (const std::string& out : node.outputs) {
    if (out.empty()) continue;
    auto it = types.find(out);
    if (it == types.end() || !IsStaticF32(it->second)) {
      return kiln::StrCat("output '", out, "' is ",
                          it == types.end() ? std::string("of unknown type") : it->second.ToString(),
                          ", not f32 with static dims");
    }
  }
  // The node alone, as a graph: its dynamic inputs become parameters, constants stay constants.
  Graph single;
  single.name = node.name;
  std::set<std::string> seen;
  for (const std::string& in : node.inputs) {
    if (in.empty() || !seen.insert(in).second) continue;
    if (std::optional<Tensor> c = StaticConstant(graph, types, in, options.auto_jit)) {
      single.initializers[in] = *c;
      continue;
    }
    auto it = types.find(in);
    if (it == types.end() || !IsStaticF32(it->second)) {
      return kiln::StrCat("input '", in, "' is ",
                          it == types.end() ? std::string("of unknown type") : it->second.ToString(),
                          ", neither f32 with static dims nor a constant");
    }
    single.inputs.push_back(ValueInfo{in, DType::kF32, it->second.dims, true});
  }
  Node copy = node;
  copy.control_inputs.clear();
  single.nodes.push_back(std::move(copy));
  for (const std::string& out : node.outputs) {
    if (out.empty()) continue;
    single.outputs.push_back(ValueInfo{out, DType::kF32, types.at(out).dims, true});
  }
  absl::StatusOr<std::unique_ptr<hlo::Module>> module = LowerGraph(single, single.name);
  if (!module.ok()) return kiln::StrCat("lowering failed: ", module.status().message());
  if (backend != nullptr) {
    std::vector<std::string> unsupported = UnsupportedInstructions(**module, *backend);
    if (!unsupported.empty()) {
      return kiln::StrCat("backend ", options.backend, " does not support ",
                          absl::StrJoin(unsupported, ", "));
    }
  }
  return "";
}

absl::StatusOr<backends::Backend*> FindBackend(const std::string& name) {
  backends::RegisterBackends();
  backends::Backend* backend = backends::BackendRegistry::Global().Find(name);
  if (backend == nullptr) {
    return absl::InvalidArgumentError(kiln::StrCat(
        "JIT backend '", name, "' is not registered; set KILN_FLAGS=--backend=cpu or --backend=interpreter"));
  }
  return backend;
}

}  // namespace

absl::StatusOr<std::vector<bool>> FindCompilableNodes(const Graph& graph,
                                                      const std::map<std::string, TensorType>& types,
                                                      const JitOptions& options) {
  KILN_ASSIGN_OR_RETURN(backends::Backend * backend, FindBackend(options.backend));
  std::vector<bool> compilable(graph.nodes.size(), false);
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    compilable[i] = WhyNotCompilable(graph, types, options, backend, i).empty();
  }
  return compilable;
}

std::string ExplainNotCompilable(const Graph& graph, const std::map<std::string, TensorType>& types,
                                 const JitOptions& options, int index) {
  absl::StatusOr<backends::Backend*> backend = FindBackend(options.backend);
  if (!backend.ok()) return std::string(backend.status().message());
  return WhyNotCompilable(graph, types, options, *backend, index);
}

namespace {

// The graph of clusters while edges are contracted: each cluster is named by a representative node
// and keeps the sets of its successor and predecessor clusters.
class ClusterGraph {
 public:
  explicit ClusterGraph(int n) : succ_(n), pred_(n), members_(n), rep_(n) {
    for (int i = 0; i < n; ++i) {
      members_[i] = {i};
      rep_[i] = i;
    }
  }
  void AddEdge(int from, int to) {
    if (from == to) return;
    succ_[from].insert(to);
    pred_[to].insert(from);
  }
  bool IsRepresentative(int i) const { return rep_[i] == i; }
  const std::set<int>& Successors(int c) const { return succ_[c]; }
  const std::vector<int>& Members(int c) const { return members_[c]; }

  // Whether `to` can be reached from `from` other than by the direct edge from -> to.
  bool HasIndirectPath(int from, int to) const {
    std::vector<int> stack;
    std::vector<bool> visited(succ_.size(), false);
    for (int s : succ_[from]) {
      if (s != to && !visited[s]) {
        visited[s] = true;
        stack.push_back(s);
      }
    }
    while (!stack.empty()) {
      int c = stack.back();
      stack.pop_back();
      if (c == to) return true;
      for (int s : succ_[c]) {
        if (!visited[s]) {
          visited[s] = true;
          stack.push_back(s);
        }
      }
    }
    return false;
  }

  // Merges cluster `b` into cluster `a`. Precondition: no indirect path between them.
  void Merge(int a, int b) {
    for (int s : succ_[b]) {
      pred_[s].erase(b);
      if (s != a) {
        succ_[a].insert(s);
        pred_[s].insert(a);
      }
    }
    for (int p : pred_[b]) {
      succ_[p].erase(b);
      if (p != a) {
        pred_[a].insert(p);
        succ_[p].insert(a);
      }
    }
    succ_[a].erase(b);
    pred_[a].erase(b);
    succ_[b].clear();
    pred_[b].clear();
    for (int m : members_[b]) {
      rep_[m] = a;
      members_[a].push_back(m);
    }
    members_[b].clear();
  }

 private:
  std::vector<std::set<int>> succ_, pred_;
  std::vector<std::vector<int>> members_;
  std::vector<int> rep_;
};

}  // namespace

absl::StatusOr<std::vector<std::vector<int>>> FindClusters(const Graph& graph,
                                                           const std::vector<bool>& compilable,
                                                           int min_cluster_size) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  const int n = static_cast<int>(graph.nodes.size());
  KILN_CHECK(static_cast<int>(compilable.size()) == n, "one compilable flag per node");
  absl::flat_hash_map<std::string, int> producer, by_name;
  for (int i = 0; i < n; ++i) {
    by_name[graph.nodes[i].name] = i;
    for (const std::string& out : graph.nodes[i].outputs) {
      if (!out.empty()) producer[out] = i;
    }
  }
  ClusterGraph cg(n);
  for (int i = 0; i < n; ++i) {
    for (const std::string& in : graph.nodes[i].inputs) {
      if (auto it = producer.find(in); it != producer.end()) cg.AddEdge(it->second, i);
    }
    for (const std::string& c : graph.nodes[i].control_inputs) {
      if (auto it = by_name.find(c); it != by_name.end()) cg.AddEdge(it->second, i);
    }
  }
  std::vector<int> position(n);
  for (int pos = 0; pos < n; ++pos) position[order[pos]] = pos;

  // Contract producer -> consumer edges in topological order of the producers until nothing merges.
  bool changed = true;
  while (changed) {
    changed = false;
    for (int u : order) {
      if (!compilable[u] || !cg.IsRepresentative(u)) continue;
      bool merged = true;
      while (merged) {
        merged = false;
        std::vector<int> successors(cg.Successors(u).begin(), cg.Successors(u).end());
        std::sort(successors.begin(), successors.end(),
                  [&](int a, int b) { return position[a] < position[b]; });
        for (int v : successors) {
          if (!compilable[v] || cg.HasIndirectPath(u, v)) continue;
          cg.Merge(u, v);
          merged = changed = true;
          break;  // u's successors changed; look again.
        }
      }
    }
  }

  std::vector<std::vector<int>> clusters;
  for (int u : order) {
    if (!compilable[u] || !cg.IsRepresentative(u)) continue;
    std::vector<int> members = cg.Members(u);
    if (static_cast<int>(members.size()) < min_cluster_size) continue;
    std::sort(members.begin(), members.end(), [&](int a, int b) { return position[a] < position[b]; });
    clusters.push_back(std::move(members));
  }
  std::sort(clusters.begin(), clusters.end(), [&](const std::vector<int>& a, const std::vector<int>& b) {
    return position[a.front()] < position[b.front()];
  });
  return clusters;
}

}  // namespace kiln::jit
