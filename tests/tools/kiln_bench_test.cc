// `kiln bench` on the bundled demo model: in-process (JIT off, as the test's KILN_FLAGS leaves it) and
// the built binary with the JIT on; usage errors; a model whose input shape is not static.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/image/npy.h"
#include "onnx.pb.h"
#include "tests/tools/kiln_test_util.h"
#include "tools/kiln/cli.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const fs::path kModel = fs::path(KILN_SOURCE_DIR) / "tools" / "demo" / "mobilenet_v1_0.25_128.onnx";

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("kiln_bench_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the built binary with KILN_FLAGS=`kiln_flags` (read once per process), stdout and stderr apart.
Result KilnBinary(const std::string& kiln_flags, const std::vector<std::string>& args) {
  const fs::path binary = KilnBinaryPath();
  const fs::path dir = TempDir("binary");
  std::string command = "KILN_FLAGS='" + kiln_flags + "' OMP_NUM_THREADS=1 '" + binary.string() + "'";
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " > '" + (dir / "out.txt").string() + "' 2> '" + (dir / "err.txt").string() + "'";
  const int status = std::system(command.c_str());
  Result result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadText(dir / "out.txt"), ReadText(dir / "err.txt")};
  fs::remove_all(dir);
  return result;
}

// The flat JSON object `text` (one line, the whole of stdout) as key -> raw value text. Fails the
// test when the text is not one object of "key": value pairs.
std::map<std::string, std::string> ParseFlatJson(const std::string& text) {
  std::map<std::string, std::string> fields;
  EXPECT_TRUE(text.size() >= 3 && text.front() == '{' && text.substr(text.size() - 2) == "}\n") << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "more than one line: " << text;
  size_t pos = 1;
  while (pos < text.size() && text[pos] != '}') {
    while (text[pos] == ' ' || text[pos] == ',') ++pos;
    if (text[pos] != '"') break;
    const size_t key_end = text.find('"', pos + 1);
    const std::string key = text.substr(pos + 1, key_end - pos - 1);
    pos = text.find(": ", key_end) + 2;
    size_t end = pos;
    if (text[pos] == '"') {
      for (end = pos + 1; end < text.size() && text[end] != '"'; ++end) {
        if (text[end] == '\\') ++end;
      }
      ++end;
    } else {
      end = text.find_first_of(",}", pos);
    }
    fields[key] = text.substr(pos, end - pos);
    pos = end;
  }
  EXPECT_EQ(text.substr(pos), "}\n") << "could not parse " << text;
  return fields;
}

// The JSON number `key` of `fields`; fails the test when it is missing or not a number.
double Number(const std::map<std::string, std::string>& fields, const std::string& key) {
  auto it = fields.find(key);
  if (it == fields.end()) {
    ADD_FAILURE() << "no key " << key;
    return -1;
  }
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  EXPECT_TRUE(!it->second.empty() && *end == '\0') << key << " is not a number: " << it->second;
  return v;
}

void ExpectLatencies(const std::map<std::string, std::string>& fields) {
  const double min = Number(fields, "latency_ms_min"), median = Number(fields, "latency_ms_median");
  const double p90 = Number(fields, "latency_ms_p90"), mean = Number(fields, "latency_ms_mean");
  EXPECT_GT(Number(fields, "first_run_ms"), 0);
  EXPECT_GT(min, 0);
  EXPECT_LE(min, median);
  EXPECT_LE(median, p90);
  EXPECT_LE(min, mean);
  EXPECT_LE(mean, p90 * 3 + 1);  // Loose: three runs, the mean is at most the max.
}

TEST(KilnBenchTest, JsonOnTheDemoModelWithTheJitOff) {
  Result r = Kiln({"bench", kModel.string(), "--repeat", "3", "--json"});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  const std::map<std::string, std::string> fields = ParseFlatJson(r.out);
  for (const char* key : {"model", "first_run_ms", "latency_ms_median", "latency_ms_p90", "latency_ms_min",
                          "latency_ms_mean", "repeat", "warmup", "threads", "clusters", "compilations", "compile_ms",
                          "auto_jit", "cpu"}) {
    EXPECT_EQ(fields.count(key), 1u) << key << " missing from " << r.out;
  }
  ExpectLatencies(fields);
  EXPECT_EQ(fields.at("model"), "\"" + kModel.string() + "\"");
  EXPECT_EQ(fields.at("cpu").front(), '"');
  EXPECT_EQ(Number(fields, "repeat"), 3);
  EXPECT_EQ(Number(fields, "warmup"), 3);
  EXPECT_EQ(Number(fields, "auto_jit"), 0);
  EXPECT_EQ(Number(fields, "clusters"), 0);
  EXPECT_EQ(Number(fields, "compilations"), 0);
  EXPECT_EQ(Number(fields, "compile_ms"), 0);
}

TEST(KilnBenchTest, TextReportNamesTheRandomInputAndTheSteadyStatistics) {
  Result r = Kiln({"bench", kModel.string(), "--repeat=2", "--warmup=0", "--seed=7", "--threads=1"});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  EXPECT_NE(r.out.find("input        input f32[1,3,128,128] random (seed 7)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("threads      1 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("jit          off"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(2 runs after 0 warm-up)"), std::string::npos) << r.out;
}

TEST(KilnBenchTest, JitOnReportsClustersCompilationsAndCompileTime) {
  Result r = KilnBinary("--auto_jit=2", {"bench", kModel.string(), "--repeat", "3", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::map<std::string, std::string> fields = ParseFlatJson(r.out);
  ExpectLatencies(fields);
  EXPECT_EQ(Number(fields, "auto_jit"), 2);
  EXPECT_GE(Number(fields, "clusters"), 1);
  EXPECT_GE(Number(fields, "compilations"), 1);
  EXPECT_GT(Number(fields, "compile_ms"), 0);
  EXPECT_EQ(Number(fields, "steady_compilations"), 0);
  // Compiling is part of the first run.
  EXPECT_LE(Number(fields, "compile_ms"), Number(fields, "first_run_ms"));
}

TEST(KilnBenchTest, UsageErrorsExitTwo) {
  Result zero = Kiln({"bench", kModel.string(), "--repeat", "0"});
  EXPECT_EQ(zero.code, cli::kExitUsage);
  EXPECT_NE(zero.err.find("--repeat needs an integer in 1.."), std::string::npos) << zero.err;
  Result unknown = Kiln({"bench", kModel.string(), "--iterations", "3"});
  EXPECT_EQ(unknown.code, cli::kExitUsage);
  EXPECT_NE(unknown.err.find("unknown option --iterations"), std::string::npos) << unknown.err;
  Result no_such_input = Kiln({"bench", kModel.string(), "--input", "pixels=x.npy"});
  EXPECT_EQ(no_such_input.code, cli::kExitUsage);
  EXPECT_NE(no_such_input.err.find("has no input 'pixels'; its inputs are: input f32[1,3,128,128]"),
            std::string::npos)
      << no_such_input.err;
  EXPECT_EQ(Kiln({"bench"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"bench", kModel.string(), "--threads", "-1"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"bench", kModel.string(), "--input", "no_equals_sign"}).code, cli::kExitUsage);
}

// y = Relu(x) with x f32[N,3], N symbolic.
std::string WriteSymbolicModel(const fs::path& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("symbolic");
  onnx::NodeProto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->add_input("x");
  relu->add_output("y");
  onnx::ValueInfoProto* x = g->add_input();
  x->set_name("x");
  onnx::TypeProto::Tensor* type = x->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  type->mutable_shape()->add_dim()->set_dim_param("N");
  type->mutable_shape()->add_dim()->set_dim_value(3);
  g->add_output()->set_name("y");
  const std::string path = (dir / "symbolic.onnx").string();
  std::ofstream(path, std::ios::binary) << m.SerializeAsString();
  return path;
}

TEST(KilnBenchTest, SymbolicInputNeedsAnNpyFile) {
  const fs::path dir = TempDir("symbolic");
  const std::string model = WriteSymbolicModel(dir);
  Result r = Kiln({"bench", model, "--repeat", "1"});
  EXPECT_EQ(r.code, cli::kExitUsage);
  EXPECT_NE(r.err.find("input 'x' of " + model + " is f32[?,3], whose shape is not static: pass --input x=FILE.npy"),
            std::string::npos)
      << r.err;

  const std::string npy = (dir / "x.npy").string();
  ASSERT_TRUE(WriteNpyFile(npy, Tensor::FromVector<float>({2, 3}, {1, -2, 3, -4, 5, -6})).ok());
  Result fed = Kiln({"bench", model, "--repeat", "2", "--input", "x=" + npy});
  EXPECT_EQ(fed.code, cli::kExitOk) << fed.err;
  EXPECT_NE(fed.out.find("input        x f32[2,3] from " + npy), std::string::npos) << fed.out;

  // A feed of the wrong dtype is the session's error (exit 1).
  const std::string wrong = (dir / "wrong.npy").string();
  ASSERT_TRUE(WriteNpyFile(wrong, Tensor::FromVector<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6})).ok());
  Result bad = Kiln({"bench", model, "--input", "x=" + wrong});
  EXPECT_EQ(bad.code, cli::kExitError);
  EXPECT_NE(bad.err.find("'x'"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln
