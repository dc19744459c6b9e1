// Clustering (FindClusters) and encapsulation on small hand-built graphs.
#include <set>

#include "gtest/gtest.h"
#include "jit/encapsulate.h"
#include "jit/mark_for_compilation.h"
#include "kiln/runtime/graph.h"

namespace kiln::jit {
namespace {

Node MakeNode(std::string name, std::string op, std::vector<std::string> inputs,
              std::vector<std::string> outputs, std::vector<std::string> controls = {}) {
  Node node;
  node.name = std::move(name);
  node.op = std::move(op);
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  node.control_inputs = std::move(controls);
  return node;
}

Graph WithInput(std::vector<Node> nodes, std::vector<std::string> outputs) {
  Graph g;
  g.name = "g";
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {2, 3}, true});
  g.nodes = std::move(nodes);
  for (const std::string& out : outputs) g.outputs.push_back(ValueInfo{out, DType::kF32, {2, 3}, true});
  return g;
}

// Cluster contents as sets of node names, for order-independent comparisons.
std::vector<std::set<std::string>> Names(const Graph& g, const std::vector<std::vector<int>>& clusters) {
  std::vector<std::set<std::string>> result;
  for (const auto& cluster : clusters) {
    std::set<std::string> names;
    for (int i : cluster) names.insert(g.nodes[i].name);
    result.push_back(names);
  }
  return result;
}

TEST(FindClustersTest, ChainFormsOneCluster) {
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Relu", {"va"}, {"vb"}),
                       MakeNode("c", "Relu", {"vb"}, {"vc"})},
                      {"vc"});
  auto clusters = FindClusters(g, {true, true, true}, 2);
  ASSERT_TRUE(clusters.ok()) << clusters.status();
  EXPECT_EQ(Names(g, *clusters), (std::vector<std::set<std::string>>{{"a", "b", "c"}}));
  // Members come in topological order.
  EXPECT_EQ((*clusters)[0], (std::vector<int>{0, 1, 2}));
}

TEST(FindClustersTest, DoesNotMergeAroundAnUnsupportedNode) {
  // a -> b -> c and a -> c with b unsupported: merging a and c would put b on a cycle.
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Unsupported", {"va"}, {"vb"}),
                       MakeNode("c", "Add", {"va", "vb"}, {"vc"})},
                      {"vc"});
  auto clusters = FindClusters(g, {true, false, true}, 1);
  ASSERT_TRUE(clusters.ok()) << clusters.status();
  EXPECT_EQ(Names(g, *clusters), (std::vector<std::set<std::string>>{{"a"}, {"c"}}));
  // With the default minimum of 2, neither single node is worth a cluster.
  clusters = FindClusters(g, {true, false, true}, 2);
  ASSERT_TRUE(clusters.ok());
  EXPECT_TRUE(clusters->empty());
}

TEST(FindClustersTest, LongerDetourThroughUnsupportedNodeAlsoBlocks) {
  // a -> d and a -> b -> u -> d with u unsupported: a and b may merge, d may not join them.
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Relu", {"va"}, {"vb"}),
                       MakeNode("u", "Unsupported", {"vb"}, {"vu"}),
                       MakeNode("d", "Add", {"va", "vu"}, {"vd"}), MakeNode("e", "Relu", {"vd"}, {"ve"})},
                      {"ve"});
  auto clusters = FindClusters(g, {true, true, false, true, true}, 2);
  ASSERT_TRUE(clusters.ok()) << clusters.status();
  EXPECT_EQ(Names(g, *clusters), (std::vector<std::set<std::string>>{{"a", "b"}, {"d", "e"}}));
}

TEST(FindClustersTest, ControlEdgesCountAsEdges) {
  // a -> c by data, a -> u by data, u -> c by a control edge, u unsupported: a and c stay apart.
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("u", "Unsupported", {"va"}, {"vu"}),
                       MakeNode("c", "Relu", {"va"}, {"vc"}, {"u"})},
                      {"vc", "vu"});
  auto clusters = FindClusters(g, {true, false, true}, 1);
  ASSERT_TRUE(clusters.ok()) << clusters.status();
  EXPECT_EQ(Names(g, *clusters), (std::vector<std::set<std::string>>{{"a"}, {"c"}}));
  // A control edge between two compilable nodes is contracted like a data edge.
  Graph h = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Relu", {"x"}, {"vb"}, {"a"})},
                      {"va", "vb"});
  clusters = FindClusters(h, {true, true}, 2);
  ASSERT_TRUE(clusters.ok());
  EXPECT_EQ(Names(h, *clusters), (std::vector<std::set<std::string>>{{"a", "b"}}));
}

TEST(FindClustersTest, MinClusterSizeDropsSmallClusters) {
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Relu", {"va"}, {"vb"}),
                       MakeNode("u", "Unsupported", {"vb"}, {"vu"}), MakeNode("c", "Relu", {"vu"}, {"vc"}),
                       MakeNode("d", "Relu", {"vc"}, {"vd"}), MakeNode("e", "Relu", {"vd"}, {"ve"})},
                      {"ve"});
  std::vector<bool> compilable = {true, true, false, true, true, true};
  auto clusters = FindClusters(g, compilable, 2);
  ASSERT_TRUE(clusters.ok());
  EXPECT_EQ(Names(g, *clusters), (std::vector<std::set<std::string>>{{"a", "b"}, {"c", "d", "e"}}));
  clusters = FindClusters(g, compilable, 3);
  ASSERT_TRUE(clusters.ok());
  EXPECT_EQ(Names(g, *clusters), (std::vector<std::set<std::string>>{{"c", "d", "e"}}));
  clusters = FindClusters(g, compilable, 4);
  ASSERT_TRUE(clusters.ok());
  EXPECT_TRUE(clusters->empty());
}

TEST(FindClustersTest, DiamondMergesCompletely) {
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Relu", {"va"}, {"vb"}),
                       MakeNode("c", "Relu", {"va"}, {"vc"}), MakeNode("d", "Add", {"vb", "vc"}, {"vd"})},
                      {"vd"});
  auto clusters = FindClusters(g, {true, true, true, true}, 2);
  ASSERT_TRUE(clusters.ok());
  EXPECT_EQ(Names(g, *clusters), (std::vector<std::set<std::string>>{{"a", "b", "c", "d"}}));
}

TEST(FindClustersTest, ResultIsAcyclicAfterContraction) {
  // Two unsupported nodes interleaved with compilable ones in a ladder; whatever merges, the graph
  // with every cluster contracted must stay acyclic.
  Graph g = WithInput(
      {MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("u1", "U", {"va"}, {"vu1"}),
       MakeNode("b", "Relu", {"va"}, {"vb"}), MakeNode("c", "Add", {"vb", "vu1"}, {"vc"}),
       MakeNode("u2", "U", {"vc"}, {"vu2"}), MakeNode("d", "Add", {"vc", "vu2"}, {"vd"}),
       MakeNode("e", "Add", {"vd", "vb"}, {"ve"})},
      {"ve"});
  std::vector<bool> compilable = {true, false, true, true, false, true, true};
  auto clusters = FindClusters(g, compilable, 1);
  ASSERT_TRUE(clusters.ok());
  // Contract: map each node to its cluster id (or itself) and check for a cycle with Kahn's algorithm.
  std::vector<int> id(g.nodes.size());
  for (size_t i = 0; i < id.size(); ++i) id[i] = 100 + static_cast<int>(i);
  for (size_t c = 0; c < clusters->size(); ++c) {
    for (int i : (*clusters)[c]) id[i] = static_cast<int>(c);
  }
  std::set<std::pair<int, int>> edges;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string& in : g.nodes[i].inputs) {
      int p = g.FindProducer(in);
      if (p >= 0 && id[p] != id[i]) edges.insert({id[p], id[i]});
    }
  }
  std::set<int> ids(id.begin(), id.end());
  std::map<int, int> indegree;
  for (int v : ids) indegree[v] = 0;
  for (auto [a, b] : edges) ++indegree[b];
  std::vector<int> ready;
  for (auto [v, d] : indegree) {
    if (d == 0) ready.push_back(v);
  }
  size_t visited = 0;
  while (!ready.empty()) {
    int v = ready.back();
    ready.pop_back();
    ++visited;
    for (auto [a, b] : edges) {
      if (a == v && --indegree[b] == 0) ready.push_back(b);
    }
  }
  EXPECT_EQ(visited, ids.size()) << "contracted graph has a cycle";
  // a and b merge; c stays apart from them (detour through u1) and from d (detour through u2);
  // d and e merge.
  EXPECT_EQ(id[0], id[2]);
  EXPECT_NE(id[0], id[3]);
  EXPECT_NE(id[3], id[5]);
  EXPECT_EQ(id[5], id[6]);
}

TEST(FindClustersTest, MalformedGraphIsAnError) {
  Graph g = WithInput({MakeNode("a", "Relu", {"missing"}, {"va"})}, {"va"});
  auto clusters = FindClusters(g, {true}, 1);
  EXPECT_FALSE(clusters.ok());
  EXPECT_NE(clusters.status().message().find("missing"), std::string::npos);
}

std::map<std::string, TensorType> F32Types(const std::vector<std::string>& names) {
  std::map<std::string, TensorType> types;
  for (const std::string& n : names) types[n] = TensorType{DType::kF32, {2, 3}};
  return types;
}

TEST(EncapsulateTest, ReplacesClusterByOneLaunchNode) {
  // x -> a(Relu) -> b(Add with initializer w) -> u(unsupported) -> c(Relu); b's output also read by c.
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Add", {"va", "w"}, {"vb"}),
                       MakeNode("u", "Unsupported", {"vb"}, {"vu"}, {"a"}),
                       MakeNode("c", "Add", {"vu", "vb"}, {"vc"})},
                      {"vc"});
  g.initializers["w"] = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto types = F32Types({"x", "va", "vb", "vu", "vc"});
  types["w"] = TensorType{DType::kF32, {2, 3}, true, g.initializers["w"]};
  JitOptions options;
  options.auto_jit = 1;
  options.dump_to = "dumps";
  auto created = EncapsulateClusters(g, {{0, 1}}, types, options);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 1);
  ASSERT_EQ(g.nodes.size(), 3u);
  const Node& launch = g.nodes[0];
  EXPECT_EQ(launch.op, kLaunchOp);
  EXPECT_EQ(launch.inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(launch.outputs, (std::vector<std::string>{"vb"}));
  EXPECT_EQ(*launch.GetString("backend"), "cpu");
  EXPECT_EQ(*launch.GetString("dump_to"), "dumps");
  EXPECT_EQ(launch.GetString("fingerprint")->size(), 16u);
  auto cluster = launch.GetGraph("cluster");
  ASSERT_TRUE(cluster.ok());
  ASSERT_EQ((*cluster)->nodes.size(), 2u);
  EXPECT_EQ((*cluster)->inputs.size(), 1u);
  EXPECT_EQ((*cluster)->outputs.size(), 1u);
  EXPECT_EQ((*cluster)->initializers.count("w"), 1u);
  // The initializer moved into the cluster; u's control input now names the launch node.
  EXPECT_EQ(g.initializers.count("w"), 0u);
  EXPECT_EQ(g.nodes[1].name, "u");
  EXPECT_EQ(g.nodes[1].control_inputs, (std::vector<std::string>{launch.name}));
  EXPECT_TRUE(g.TopologicalOrder().ok());
}

TEST(EncapsulateTest, FingerprintIgnoresNamesAndInputDimsButNotWeights) {
  auto make = [](std::string prefix, float weight, Dims dims) {
    Graph g;
    g.inputs.push_back(ValueInfo{prefix + "x", DType::kF32, dims, true});
    g.nodes.push_back(MakeNode(prefix + "a", "Relu", {prefix + "x"}, {prefix + "va"}));
    g.nodes.push_back(MakeNode(prefix + "b", "Add", {prefix + "va", prefix + "w"}, {prefix + "vb"}));
    g.initializers[prefix + "w"] = Tensor::Scalar<float>(weight);
    g.outputs.push_back(ValueInfo{prefix + "vb", DType::kF32, dims, true});
    return g;
  };
  std::string f1 = Fingerprint(make("p_", 1.0f, {2, 3}));
  EXPECT_EQ(f1, Fingerprint(make("q_", 1.0f, {4, 5})));
  EXPECT_NE(f1, Fingerprint(make("p_", 2.0f, {2, 3})));
  EXPECT_NE(f1, Fingerprint(make("p_", 1.0f, {6})));  // Rank is part of the structure.
  Graph other = make("p_", 1.0f, {2, 3});
  other.nodes[0].op = "Sigmoid";
  EXPECT_NE(f1, Fingerprint(other));
}

TEST(EncapsulateTest, TwoClustersAndControlEdgesBetweenThem) {
  Graph g = WithInput({MakeNode("a", "Relu", {"x"}, {"va"}), MakeNode("b", "Relu", {"va"}, {"vb"}),
                       MakeNode("u", "Unsupported", {"vb"}, {"vu"}),
                       MakeNode("c", "Relu", {"vu"}, {"vc"}, {"b"}), MakeNode("d", "Relu", {"vc"}, {"vd"})},
                      {"vd", "va"});
  auto types = F32Types({"x", "va", "vb", "vu", "vc", "vd"});
  JitOptions options;
  options.auto_jit = 2;
  auto created = EncapsulateClusters(g, {{0, 1}, {3, 4}}, types, options);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 2);
  ASSERT_EQ(g.nodes.size(), 3u);
  // "va" is a graph output, so the first cluster exports it as well as "vb".
  EXPECT_EQ(g.nodes[0].outputs, (std::vector<std::string>{"va", "vb"}));
  EXPECT_EQ(g.nodes[2].control_inputs, (std::vector<std::string>{g.nodes[0].name}));
  EXPECT_TRUE(g.TopologicalOrder().ok());
}

}  // namespace
}  // namespace kiln::jit
