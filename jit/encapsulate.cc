#include "jit/encapsulate.h"

#include <cstring>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "kiln/support/strings.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jit/mark_for_compilation.h"
#include "kiln/support/status.h"

namespace kiln::jit {

uint64_t StableHash(const void* data, size_t size, uint64_t seed) {
  // 64-bit multiply-xorshift over 8-byte words (little-endian reads), then a final avalanche.
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h = seed ^ (size * kMul);
  const unsigned char* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < size; ++k) tail |= static_cast<uint64_t>(p[i + k]) << (8 * k);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 31;
  return h;
}

namespace {

std::string HashHex(uint64_t h) { return absl::StrFormat("%016x", h); }

std::string TensorText(const Tensor& t) {
  if (!t.valid()) return "tensor<absent>";
  return kiln::StrCat(t.TypeString(), "#", HashHex(StableHash(t.raw_data(), t.byte_size())));
}

std::string AttrText(const AttrValue& value) {
  struct Visitor {
    std::string operator()(int64_t v) const { return kiln::StrCat(v); }
    std::string operator()(float v) const { return absl::StrFormat("%.9gf", v); }
    std::string operator()(const std::string& v) const { return kiln::StrCat("\"", v, "\""); }
    std::string operator()(const std::vector<int64_t>& v) const {
      return kiln::StrCat("[", absl::StrJoin(v, ","), "]");
    }
    std::string operator()(const std::vector<float>& v) const {
      std::vector<std::string> parts;
      for (float f : v) parts.push_back(absl::StrFormat("%.9gf", f));
      return kiln::StrCat("[", absl::StrJoin(parts, ","), "]");
    }
    std::string operator()(const std::vector<std::string>& v) const {
      return kiln::StrCat("[\"", absl::StrJoin(v, "\",\""), "\"]");
    }
    std::string operator()(const Tensor& t) const { return TensorText(t); }
    std::string operator()(const std::shared_ptr<const Graph>& g) const {
      return g ? kiln::StrCat("graph#", Fingerprint(*g)) : "graph<null>";
    }
  };
  return std::visit(Visitor{}, value);
}

}  // namespace

std::string CanonicalText(const Graph& graph) {
  std::map<std::string, std::string> ids;  // Value name -> canonical id.
  std::map<std::string, std::string> node_ids;
  std::string text;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ValueInfo& in = graph.inputs[i];
    ids[in.name] = kiln::StrCat("%in", i);
    kiln::StrAppend(&text, "input %in", i, " ", DTypeName(in.dtype), " rank ",
                    in.has_shape ? kiln::StrCat(in.dims.size()) : "?", "\n");
  }
  std::vector<int> order;
  if (absl::StatusOr<std::vector<int>> topo = graph.TopologicalOrder(); topo.ok()) {
    order = *std::move(topo);
  } else {
    for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) order.push_back(i);
  }
  int num_constants = 0, num_values = 0, num_nodes = 0;
  auto id_of = [&](const std::string& name) -> std::string {
    if (name.empty()) return "_";
    if (auto it = ids.find(name); it != ids.end()) return it->second;
    if (auto it = graph.initializers.find(name); it != graph.initializers.end()) {
      std::string id = kiln::StrCat("%c", num_constants++);
      kiln::StrAppend(&text, "constant ", id, " ", TensorText(it->second), "\n");
      ids[name] = id;
      return id;
    }
    return kiln::StrCat("?", name);
  };
  for (int index : order) {
    const Node& node = graph.nodes[index];
    std::vector<std::string> ins, outs, controls, attrs;
    for (const std::string& in : node.inputs) ins.push_back(id_of(in));
    for (const std::string& c : node.control_inputs) {
      auto it = node_ids.find(c);
      controls.push_back(it == node_ids.end() ? kiln::StrCat("?", c) : it->second);
    }
    for (const auto& [key, value] : node.attrs) attrs.push_back(kiln::StrCat(key, "=", AttrText(value)));
    for (const std::string& out : node.outputs) {
      if (out.empty()) {
        outs.push_back("_");
        continue;
      }
      std::string id = kiln::StrCat("%v", num_values++);
      ids[out] = id;
      outs.push_back(id);
    }
    std::string node_id = kiln::StrCat("n", num_nodes++);
    node_ids[node.name] = node_id;
    kiln::StrAppend(&text, node_id, ": (", absl::StrJoin(outs, ", "), ") = ", node.op, "(",
                    absl::StrJoin(ins, ", "), ")");
    if (!controls.empty()) kiln::StrAppend(&text, " after {", absl::StrJoin(controls, ", "), "}");
    kiln::StrAppend(&text, " {", absl::StrJoin(attrs, "; "), "}\n");
  }
  std::vector<std::string> outs;
  for (const ValueInfo& out : graph.outputs) outs.push_back(id_of(out.name));
  kiln::StrAppend(&text, "outputs (", absl::StrJoin(outs, ", "), ")\n");
  return text;
}

std::string Fingerprint(const Graph& graph) {
  std::string text = CanonicalText(graph);
  return HashHex(StableHash(text.data(), text.size()));
}

namespace {

// The subgraph of cluster `c`: copies of its member nodes (control inputs kept only between
// members), an input per value read from outside (static constants become initializers instead),
// and an output per value read outside the cluster or named as a graph output.
absl::StatusOr<std::shared_ptr<Graph>> ClusterSubgraph(
    const Graph& graph, const std::vector<int>& members, int c, const std::vector<int>& cluster_of,
    const absl::flat_hash_map<std::string, std::vector<int>>& readers,
    const std::set<std::string>& graph_outputs, const std::map<std::string, TensorType>& types,
    const JitOptions& options) {
  auto subgraph = std::make_shared<Graph>();
  std::set<std::string> produced_inside, member_names;
  for (int i : members) {
    member_names.insert(graph.nodes[i].name);
    for (const std::string& out : graph.nodes[i].outputs) {
      if (!out.empty()) produced_inside.insert(out);
    }
  }
  std::set<std::string> seen_inputs;
  for (int i : members) {
    Node copy = graph.nodes[i];
    std::vector<std::string> inner_controls;
    for (const std::string& ctl : copy.control_inputs) {
      if (member_names.count(ctl)) inner_controls.push_back(ctl);
    }
    copy.control_inputs = std::move(inner_controls);
    for (const std::string& in : copy.inputs) {
      if (in.empty() || produced_inside.count(in) || !seen_inputs.insert(in).second) continue;
      if (std::optional<Tensor> constant = StaticConstant(graph, types, in, options.auto_jit)) {
        subgraph->initializers[in] = *constant;
        continue;
      }
      auto it = types.find(in);
      if (it == types.end()) {
        return absl::InternalError(kiln::StrCat("JIT encapsulation: value '", in, "' read by node '",
                                                copy.name, "' has no inferred type"));
      }
      subgraph->inputs.push_back(ValueInfo{in, it->second.dtype, it->second.dims, it->second.rank_known});
    }
    subgraph->nodes.push_back(std::move(copy));
  }
  for (int i : members) {
    for (const std::string& out : graph.nodes[i].outputs) {
      if (out.empty()) continue;
      bool read_outside = graph_outputs.count(out) > 0;
      auto rd = readers.find(out);
      if (rd != readers.end()) {
        for (int r : rd->second) read_outside = read_outside || cluster_of[r] != c;
      }
      if (!read_outside) continue;
      const TensorType& t = types.at(out);
      subgraph->outputs.push_back(ValueInfo{out, t.dtype, t.dims, t.rank_known});
    }
  }
  return subgraph;
}

// Drops Constant nodes and initializers that nothing reads any more (their values moved into
// clusters); graph outputs and control-dependency targets stay.
void DropDeadConstants(Graph& graph, std::vector<Node> nodes, const std::set<std::string>& graph_outputs) {
  std::set<std::string> read;
  for (const Node& node : nodes) {
    for (const std::string& in : node.inputs) read.insert(in);
  }
  std::set<std::string> control_targets;
  for (const Node& node : nodes) {
    for (const std::string& ctl : node.control_inputs) control_targets.insert(ctl);
  }
  std::vector<Node> kept;
  for (Node& node : nodes) {
    bool dead_constant = node.op == "Constant" && !control_targets.count(node.name);
    for (const std::string& out : node.outputs) {
      if (read.count(out) || graph_outputs.count(out)) dead_constant = false;
    }
    if (!dead_constant) kept.push_back(std::move(node));
  }
  graph.nodes = std::move(kept);
  for (auto it = graph.initializers.begin(); it != graph.initializers.end();) {
    if (!read.count(it->first) && !graph_outputs.count(it->first) && graph.FindInput(it->first) == nullptr) {
      it = graph.initializers.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

absl::StatusOr<int> EncapsulateClusters(Graph& graph, const std::vector<std::vector<int>>& clusters,
                                        const std::map<std::string, TensorType>& types,
                                        const JitOptions& options) {
  const int n = static_cast<int>(graph.nodes.size());
  std::vector<int> cluster_of(n, -1);
  for (int c = 0; c < static_cast<int>(clusters.size()); ++c) {
    for (int i : clusters[c]) {
      KILN_CHECK(i >= 0 && i < n && cluster_of[i] < 0, "clusters must be disjoint node indices");
      cluster_of[i] = c;
    }
  }
  // Readers of each value outside its cluster, and graph outputs.
  std::set<std::string> graph_outputs;
  for (const ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  absl::flat_hash_map<std::string, std::vector<int>> readers;
  for (int i = 0; i < n; ++i) {
    for (const std::string& in : graph.nodes[i].inputs) {
      if (!in.empty()) readers[in].push_back(i);
    }
  }

  std::vector<std::string> launch_name(clusters.size());
  std::vector<Node> launches(clusters.size());
  std::vector<bool> built(clusters.size(), false);
  std::set<std::string> reserved;  // Launch names chosen so far.
  for (int c = 0; c < static_cast<int>(clusters.size()); ++c) {
    const std::vector<int>& members = clusters[c];
    absl::StatusOr<std::shared_ptr<Graph>> built_subgraph =
        ClusterSubgraph(graph, members, c, cluster_of, readers, graph_outputs, types, options);
    if (!built_subgraph.ok()) return built_subgraph.status();
    std::shared_ptr<Graph> subgraph = *std::move(built_subgraph);
    if (subgraph->outputs.empty()) continue;  // Dead code: leave it for the executor to skip.
    subgraph->name = kiln::StrCat(graph.name.empty() ? "graph" : graph.name, "_cluster_", c);
    std::string fingerprint = Fingerprint(*subgraph);

    std::string name = graph.UniqueName(kiln::StrCat("_kiln_cluster_", c));
    while (reserved.count(name)) name += "_";
    reserved.insert(name);
    Node& launch = launches[c];
    launch.name = name;
    launch.op = kLaunchOp;
    for (const ValueInfo& in : subgraph->inputs) launch.inputs.push_back(in.name);
    for (const ValueInfo& out : subgraph->outputs) launch.outputs.push_back(out.name);
    launch.attrs["backend"] = options.backend;
    launch.attrs["fingerprint"] = fingerprint;
    launch.attrs["num_ops"] = static_cast<int64_t>(members.size());
    if (!options.dump_to.empty()) launch.attrs["dump_to"] = options.dump_to;
    launch.attrs["measure_choice"] = static_cast<int64_t>(options.measure_choice ? 1 : 0);
    launch.attrs["cluster"] = std::shared_ptr<const Graph>(std::move(subgraph));
    launch_name[c] = name;
    built[c] = true;
  }

  // Control inputs naming an encapsulated node now name its launch node.
  absl::flat_hash_map<std::string, std::string> renamed;
  for (int i = 0; i < n; ++i) {
    if (cluster_of[i] >= 0 && built[cluster_of[i]]) renamed[graph.nodes[i].name] = launch_name[cluster_of[i]];
  }
  auto rewrite_controls = [&](const std::vector<std::string>& controls, const std::string& self) {
    std::vector<std::string> result;
    std::set<std::string> seen;
    for (const std::string& ctl : controls) {
      auto it = renamed.find(ctl);
      std::string target = it == renamed.end() ? ctl : it->second;
      if (target != self && seen.insert(target).second) result.push_back(target);
    }
    return result;
  };
  for (int c = 0; c < static_cast<int>(clusters.size()); ++c) {
    if (!built[c]) continue;
    std::vector<std::string> outer;
    std::set<std::string> member_names;
    for (int i : clusters[c]) member_names.insert(graph.nodes[i].name);
    for (int i : clusters[c]) {
      for (const std::string& ctl : graph.nodes[i].control_inputs) {
        if (!member_names.count(ctl)) outer.push_back(ctl);
      }
    }
    launches[c].control_inputs = rewrite_controls(outer, launch_name[c]);
  }

  std::vector<Node> nodes;
  int created = 0;
  for (int i = 0; i < n; ++i) {
    int c = cluster_of[i];
    if (c >= 0 && built[c]) {
      if (clusters[c].front() == i) {
        nodes.push_back(std::move(launches[c]));
        ++created;
      }
      continue;
    }
    Node node = std::move(graph.nodes[i]);
    node.control_inputs = rewrite_controls(node.control_inputs, node.name);
    nodes.push_back(std::move(node));
  }

  DropDeadConstants(graph, std::move(nodes), graph_outputs);
  return created;
}

}  // namespace kiln::jit
