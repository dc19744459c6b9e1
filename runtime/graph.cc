#include "kiln/runtime/graph.h"

#include <queue>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "kiln/support/strings.h"

namespace kiln {
namespace {

template <typename T>
absl::StatusOr<T> GetAttr(const Node& node, const std::string& key, const std::optional<T>& def,
                          std::string_view type_name) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) {
    if (def.has_value()) return *def;
    return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name,
                                                   "' lacks required attribute '", key, "'"));
  }
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': attribute '",
                                                 key, "' is not of type ", type_name));
}

}  // namespace

absl::StatusOr<int64_t> Node::GetInt(const std::string& key, std::optional<int64_t> def) const {
  return GetAttr<int64_t>(*this, key, def, "int");
}
absl::StatusOr<float> Node::GetFloat(const std::string& key, std::optional<float> def) const {
  // Accept an int attribute where a float is asked for (some exporters write 0 for 0.0).
  auto it = attrs.find(key);
  if (it != attrs.end()) {
    if (const int64_t* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  }
  return GetAttr<float>(*this, key, def, "float");
}
absl::StatusOr<std::string> Node::GetString(const std::string& key,
                                            std::optional<std::string> def) const {
  return GetAttr<std::string>(*this, key, def, "string");
}
absl::StatusOr<std::vector<int64_t>> Node::GetInts(const std::string& key,
                                                   std::optional<std::vector<int64_t>> def) const {
  return GetAttr<std::vector<int64_t>>(*this, key, def, "ints");
}
absl::StatusOr<std::vector<float>> Node::GetFloats(const std::string& key,
                                                   std::optional<std::vector<float>> def) const {
  return GetAttr<std::vector<float>>(*this, key, def, "floats");
}
absl::StatusOr<Tensor> Node::GetTensor(const std::string& key) const {
  return GetAttr<Tensor>(*this, key, std::nullopt, "tensor");
}
absl::StatusOr<std::shared_ptr<const Graph>> Node::GetGraph(const std::string& key) const {
  return GetAttr<std::shared_ptr<const Graph>>(*this, key, std::nullopt, "graph");
}

absl::StatusOr<std::vector<int>> Graph::TopologicalOrder() const {
  const int n = static_cast<int>(nodes.size());
  absl::flat_hash_map<std::string_view, int> producer;
  absl::flat_hash_map<std::string_view, int> by_name;
  for (int i = 0; i < n; ++i) {
    for (const std::string& out : nodes[i].outputs) {
      if (out.empty()) continue;
      if (!producer.emplace(out, i).second) {
        return absl::InvalidArgumentError(kiln::StrCat("value '", out, "' is produced by both node '",
                                                       nodes[producer[out]].name, "' and node '",
                                                       nodes[i].name, "'"));
      }
      if (initializers.count(out) || FindInput(out) != nullptr) {
        return absl::InvalidArgumentError(kiln::StrCat(
            "node '", nodes[i].name, "' produces '", out, "', which is also a graph input or initializer"));
      }
    }
    by_name.emplace(nodes[i].name, i);
  }
  std::vector<std::vector<int>> users(n);
  std::vector<int> pending(n, 0);
  for (int i = 0; i < n; ++i) {
    std::set<int> preds;
    for (const std::string& in : nodes[i].inputs) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it != producer.end()) {
        preds.insert(it->second);
        continue;
      }
      if (initializers.count(in) == 0 && FindInput(in) == nullptr) {
        return absl::InvalidArgumentError(kiln::StrCat(
            nodes[i].op, " node '", nodes[i].name, "' reads '", in,
            "', which no node produces and which is neither a graph input nor an initializer"));
      }
    }
    for (const std::string& c : nodes[i].control_inputs) {
      auto it = by_name.find(c);
      if (it == by_name.end()) {
        return absl::InvalidArgumentError(
            kiln::StrCat("node '", nodes[i].name, "' has a control input '", c, "' that names no node"));
      }
      preds.insert(it->second);
    }
    pending[i] = static_cast<int>(preds.size());
    for (int p : preds) users[p].push_back(i);
  }
  // Kahn's algorithm, smallest index first so the order is deterministic and close to file order.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[i]) {
      if (--pending[u] == 0) ready.push(u);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i) {
      if (pending[i] > 0) {
        return absl::InvalidArgumentError(kiln::StrCat("graph '", name, "' has a cycle through node '",
                                                       nodes[i].name, "' (", nodes[i].op, ")"));
      }
    }
  }
  return order;
}

int Graph::FindProducer(const std::string& value) const {
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    for (const std::string& out : nodes[i].outputs) {
      if (out == value) return i;
    }
  }
  return -1;
}

const ValueInfo* Graph::FindInput(const std::string& input_name) const {
  for (const ValueInfo& v : inputs) {
    if (v.name == input_name) return &v;
  }
  return nullptr;
}

std::string Graph::UniqueName(const std::string& prefix) const {
  std::set<std::string_view> used;
  for (const Node& node : nodes) {
    used.insert(node.name);
    for (const std::string& v : node.outputs) used.insert(v);
  }
  for (const auto& [k, v] : initializers) used.insert(k);
  for (const ValueInfo& v : inputs) used.insert(v.name);
  if (!used.count(prefix)) return prefix;
  for (int i = 1;; ++i) {
    std::string candidate = kiln::StrCat(prefix, "_", i);
    if (!used.count(candidate)) return candidate;
  }
}

}  // namespace kiln
