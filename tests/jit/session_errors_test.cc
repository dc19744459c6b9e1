// Errors of Session::Load and Session::Create: one prefix each ("model '<path>': " from Load, one
// "<op> node '<name>': "), a dump folder refused before any compilation, and a malformed KILN_FLAGS
// refused instead of ignored.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/session/session.h"
#include "onnx.pb.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// y = Conv(x, w) with x f32[1,3,8,8] and w f32[w_dims] (an initializer); `kernel_shape_as_floats`
// gives the node a kernel_shape attribute of the wrong type.
onnx::ModelProto ConvModel(const std::vector<int64_t>& w_dims, bool kernel_shape_as_floats = false) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("conv");
  auto set_type = [](onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
    vi->set_name(name);
    onnx::TypeProto::Tensor* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  set_type(g->add_input(), "x", {1, 3, 8, 8});
  set_type(g->add_output(), "y", {});
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : w_dims) {
    w->add_dims(d);
    n *= d;
  }
  w->set_raw_data(std::string(n * sizeof(float), '\0'));
  onnx::NodeProto* conv = g->add_node();
  conv->set_name("Conv_46");
  conv->set_op_type("Conv");
  conv->add_input("x");
  conv->add_input("w");
  conv->add_output("y");
  if (kernel_shape_as_floats) {
    onnx::AttributeProto* a = conv->add_attribute();
    a->set_name("kernel_shape");
    a->set_type(onnx::AttributeProto::FLOATS);
    a->add_floats(3);
    a->add_floats(3);
  }
  return m;
}

class SessionErrorsTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("kiln_session_errors_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const onnx::ModelProto& model) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << model.SerializeAsString();
    return path;
  }
  fs::path dir_;
};

TEST_F(SessionErrorsTest, ShapeErrorsAfterImportStartWithTheModelPathAndOneNodePrefix) {
  const std::string path = Write("bad_weights.onnx", ConvModel({4, 2, 3, 3}));  // 2 input channels, not 3.
  for (int auto_jit : {0, 2}) {
    SCOPED_TRACE(auto_jit);
    SessionOptions options;
    options.auto_jit = auto_jit;
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Load(path, options);
    EXPECT_EQ(session.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(session.status().message(), "model '" + path +
                                              "': Conv node 'Conv_46': input channels 3 must equal W's dimension "
                                              "1 (2) times group (1)");
  }
}

TEST_F(SessionErrorsTest, AttributeOfTheWrongTypeIsPrefixedOnce) {
  const std::string path = Write("bad_attr.onnx", ConvModel({4, 3, 3, 3}, /*kernel_shape_as_floats=*/true));
  SessionOptions options;
  options.auto_jit = 0;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Load(path, options);
  EXPECT_EQ(session.status().message(),
            "model '" + path + "': Conv node 'Conv_46': attribute 'kernel_shape' is not of type ints");
}

TEST_F(SessionErrorsTest, DumpFolderThatCannotBeCreatedIsAnErrorBeforeTheRun) {
  const std::string path = Write("ok.onnx", ConvModel({4, 3, 3, 3}));
  std::ofstream((dir_ / "file").string()) << "x";
  SessionOptions options;
  options.auto_jit = 2;
  options.dump_to = (dir_ / "file" / "dumps").string();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Load(path, options);
  EXPECT_EQ(session.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(session.status().message(),
            "--dump_to folder '" + options.dump_to + "' cannot be used: Not a directory");
  // A folder that can be created is created up front, before any cluster compiles.
  options.dump_to = (dir_ / "new" / "dumps").string();
  session = Session::Load(path, options);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(fs::is_directory(options.dump_to));
}

// KILN_FLAGS is read once per process, so the bad value is set in a child that re-runs this test
// alone (the "threadsafe" death-test style re-executes the binary).
TEST_F(SessionErrorsTest, MalformedKilnFlagsIsAnErrorNotASilentJitOff) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string path = Write("flags.onnx", ConvModel({4, 3, 3, 3}));
  auto load_and_report = [&] {
    setenv("KILN_FLAGS", "--auto_jit=2 --auto_jt=1", 1);
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Load(path);
    std::fprintf(stderr, "status: %s\n", session.status().ToString().c_str());
    std::exit(session.ok() ? 0 : 3);
  };
  EXPECT_EXIT(load_and_report(), testing::ExitedWithCode(3),
              "status: INVALID_ARGUMENT: KILN_FLAGS: unknown flag --auto_jt; the flags are --auto_jit, "
              "--min_cluster_size, --dump_to, --backend, --log_compiles, --inter_op_threads");
}

}  // namespace
}  // namespace kiln
