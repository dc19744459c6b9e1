// `kiln run`: run a model on .npy inputs, or classify a JPEG.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include "kiln/support/strings.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kiln/image/image.h"
#include "kiln/image/npy.h"
#include "kiln/session/session.h"
#include "kiln/support/files.h"
#include "kiln/support/flags.h"
#include "kiln/support/read_file.h"
#include "kiln/support/status.h"
#include "tools/kiln/args.h"
#include "tools/kiln/cli.h"
#include "tools/kiln/common.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

// Wall-clock times of the first run and the steady runs, and the JIT counters around them.
struct Timing {
  double first_ms = 0;
  std::vector<double> steady_ms;
  SessionStats before, after_first, after_all;
};

// Runs the session 1 + `repeat` times and returns the first run's outputs.
absl::StatusOr<std::vector<Tensor>> TimedRuns(const Session& session, const Feeds& feeds, int64_t repeat,
                                              Timing* timing) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  timing->before = session.stats();
  Clock::time_point start = Clock::now();
  absl::StatusOr<std::vector<Tensor>> outputs = session.Run(feeds);
  timing->first_ms = ms(Clock::now() - start);
  if (!outputs.ok()) return outputs.status();
  timing->after_first = session.stats();
  for (int64_t i = 0; i < repeat; ++i) {
    start = Clock::now();
    absl::StatusOr<std::vector<Tensor>> again = session.Run(feeds);
    timing->steady_ms.push_back(ms(Clock::now() - start));
    if (!again.ok()) return Annotate(again.status(), kiln::StrCat("steady run ", i + 1));
  }
  timing->after_all = session.stats();
  return outputs;
}

bool JitRequested() { return GetFlags().auto_jit > 0; }

void PrintTimingText(const Timing& t, std::ostream& out) {
  const bool jit = JitRequested();
  out << absl::StrFormat("first run    %.3f ms%s\n", t.first_ms,
                         jit && t.after_first.compilations > t.before.compilations ? " (includes JIT compilation)" : "");
  if (!t.steady_ms.empty()) {
    out << absl::StrFormat("steady runs  %.3f ms median of %d\n", Median(t.steady_ms), t.steady_ms.size());
  }
  if (!jit) {
    out << "jit          off (KILN_FLAGS=--auto_jit=2 turns it on)\n";
    return;
  }
  out << absl::StrFormat("jit          %d cluster(s); first run compiled %d, steady runs compiled %d (%d cache hits)\n",
                         t.after_all.num_clusters, t.after_first.compilations - t.before.compilations,
                         t.after_all.compilations - t.after_first.compilations,
                         t.after_all.cache_hits - t.before.cache_hits);
}

std::string TimingJson(const Timing& t) {
  return absl::StrFormat(
      "\"first_run_ms\": %.3f, \"steady_median_ms\": %.3f, \"steady_runs\": %d, "
      "\"jit\": {\"enabled\": %s, \"clusters\": %d, \"compilations_first_run\": %d, "
      "\"compilations_steady\": %d, \"cache_hits\": %d}",
      t.first_ms, Median(t.steady_ms), t.steady_ms.size(), JitRequested() ? "true" : "false",
      t.after_all.num_clusters, t.after_first.compilations - t.before.compilations,
      t.after_all.compilations - t.after_first.compilations, t.after_all.cache_hits - t.before.cache_hits);
}

std::string ShapeJson(const Dims& dims) { return kiln::StrCat("[", absl::StrJoin(dims, ", "), "]"); }

// ---- --input mode --------------------------------------------------------------------------

absl::Status RunOnNpy(const std::string& model, const ParsedArgs& args, std::ostream& out) {
  KILN_ASSIGN_OR_RETURN(int64_t repeat, args.GetInt("repeat", 0, 0, 1000000));
  const bool json = args.Has("json");

  // Parse the feeds before loading the model, so usage errors come first.
  std::vector<std::pair<std::string, std::string>> specs;
  for (const std::string& spec : args.All("input")) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return UsageError(kiln::StrCat("--input needs NAME=FILE.npy, got '", spec, "'"));
    }
    specs.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  // The output folder is checked (and created) before the run, so a long run never ends in a write error.
  const std::string dir = args.Get("output-dir");
  if (!dir.empty()) KILN_RETURN_IF_ERROR(CheckOutputFolder(dir, /*create=*/true, "--output-dir"));
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Load(model));
  const Graph& graph = session->graph();
  std::map<std::string, const ValueInfo*> inputs;
  for (const ValueInfo* info : FedInputs(graph)) inputs[info->name] = info;
  auto input_list = [&] {
    std::vector<std::string> names;
    for (const auto& [name, info] : inputs) names.push_back(kiln::StrCat(name, " ", ValueTypeText(*info)));
    return absl::StrJoin(names, ", ");
  };

  if (specs.empty() && !inputs.empty()) {
    return UsageError(kiln::StrCat("kiln run needs --input NAME=FILE.npy for each input of ", model, " (",
                                   input_list(), "), or --image FILE"));
  }
  Feeds feeds;
  std::set<std::string> fed;
  for (const auto& [name, file] : specs) {
    if (inputs.count(name) == 0) {
      return absl::InvalidArgumentError(
          kiln::StrCat("--input ", name, ": ", model, " has no input '", name, "'; its inputs are: ", input_list()));
    }
    if (!fed.insert(name).second) return UsageError(kiln::StrCat("input '", name, "' is given twice"));
    KILN_ASSIGN_OR_RETURN(Tensor t, ReadNpyFile(file));
    feeds.emplace_back(name, std::move(t));
  }
  for (const auto& [name, info] : inputs) {
    if (fed.count(name) == 0) {
      return absl::InvalidArgumentError(kiln::StrCat("missing --input ", name, "=FILE.npy for model input '", name,
                                                     "' ", ValueTypeText(*info)));
    }
  }

  Timing timing;
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, TimedRuns(*session, feeds, repeat, &timing));

  std::vector<std::string> json_outputs;
  std::set<std::string> used_files;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string name = i < graph.outputs.size() ? graph.outputs[i].name : kiln::StrCat("output_", i);
    const Tensor& t = outputs[i];
    std::string file;
    if (!dir.empty()) {
      std::string base = SanitizeFileName(name);
      // Two names that sanitise alike get distinct files.
      for (int k = 1; !used_files.insert(base).second; ++k) base = kiln::StrCat(SanitizeFileName(name), "_", k);
      file = (fs::path(dir) / (base + ".npy")).string();
      KILN_RETURN_IF_ERROR(WriteNpyFile(file, t));
    }
    if (json) {
      json_outputs.push_back(kiln::StrCat("{\"name\": ", JsonString(name), ", \"dtype\": ", JsonString(DTypeName(t.dtype())),
                                          ", \"shape\": ", ShapeJson(t.dims()),
                                          file.empty() ? "" : kiln::StrCat(", \"file\": ", JsonString(file)), "}"));
    } else {
      out << name << "  " << t.TypeString() << (file.empty() ? "" : kiln::StrCat("  -> ", file)) << "\n";
    }
  }
  if (json) {
    out << "{\"model\": " << JsonString(model) << ", \"outputs\": [" << absl::StrJoin(json_outputs, ", ") << "], "
        << TimingJson(timing) << "}\n";
  } else {
    PrintTimingText(timing, out);
  }
  return absl::OkStatus();
}

// ---- --image mode --------------------------------------------------------------------------

// Reads a labels file (at most 64 MiB), one label a line (a trailing '\r' is dropped).
absl::StatusOr<std::vector<std::string>> ReadLabels(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string text, ReadRegularFile(path, "labels file", {.max_bytes = int64_t{64} << 20}));
  std::vector<std::string> labels = absl::StrSplit(text, '\n');
  if (!labels.empty() && labels.back().empty()) labels.pop_back();  // The final newline ends no label.
  for (std::string& label : labels) {
    if (!label.empty() && label.back() == '\r') label.pop_back();
  }
  return labels;
}

// The label of class `index` of `classes`: labels and classes line up, or one of them has an
// extra leading "background" entry (1001-class models and 1000-line files, or the reverse).
std::string LabelOf(const std::vector<std::string>& labels, int64_t classes, int64_t index) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (n == classes + 1) return labels[index + 1];
  if (n + 1 == classes) return index == 0 ? "background" : labels[index - 1];
  if (index < n) return labels[index];
  return "";
}

struct Prediction {
  int64_t index;
  double probability;
};

absl::Status ClassifyImage(const std::string& model, const ParsedArgs& args, std::ostream& out) {
  KILN_ASSIGN_OR_RETURN(int64_t top, args.GetInt("top", 5, 1, 100000));
  KILN_ASSIGN_OR_RETURN(int64_t repeat, args.GetInt("repeat", 10, 0, 1000000));
  ImageDecodeOptions decode;
  KILN_ASSIGN_OR_RETURN(decode.max_pixels, args.GetInt("max-image-pixels", kDefaultMaxImagePixels, 1,
                                                  std::numeric_limits<int64_t>::max()));
  PreprocessOptions pre;
  KILN_ASSIGN_OR_RETURN(pre.scale, args.GetFloat("scale", 128.0f));
  KILN_ASSIGN_OR_RETURN(pre.offset, args.GetFloat("offset", 128.0f));
  if (pre.scale == 0.0f) return UsageError("--scale must not be 0");
  const bool json = args.Has("json");
  const std::string image_path = args.Get("image");

  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Load(model));
  const Graph& graph = session->graph();
  const std::vector<const ValueInfo*> inputs = FedInputs(graph);
  if (inputs.size() != 1) {
    return absl::InvalidArgumentError(kiln::StrCat("--image needs a model with one input; ", model, " has ",
                                                   inputs.size(), "; feed them with --input NAME=FILE.npy"));
  }
  const ValueInfo& input = *inputs[0];
  if (input.dtype != DType::kF32) {
    return absl::UnimplementedError(kiln::StrCat("--image feeds f32 pixels, but input '", input.name, "' is ",
                                                 ValueTypeText(input), "; use --input NAME=FILE.npy"));
  }
  if (input.has_shape && input.dims.size() != 4) {
    return absl::InvalidArgumentError(kiln::StrCat("--image needs a rank-4 image input, but input '", input.name,
                                                   "' is ", ValueTypeText(input)));
  }
  Dims dims = input.has_shape ? input.dims : Dims{-1, -1, -1, -1};
  if (args.Has("layout")) {
    KILN_ASSIGN_OR_RETURN(pre.layout, ParseLayout(args.Get("layout")));
  } else {
    pre.layout = (dims[3] == 3 && dims[1] != 3) ? Layout::kNHWC : Layout::kNCHW;
  }
  const bool nchw = pre.layout == Layout::kNCHW;
  const int64_t want_c = nchw ? dims[1] : dims[3];
  int64_t want_h = nchw ? dims[2] : dims[1];
  int64_t want_w = nchw ? dims[3] : dims[2];
  if (dims[0] > 1 || (want_c >= 0 && want_c != 3)) {
    return absl::InvalidArgumentError(kiln::StrCat("input '", input.name, "' is ", ValueTypeText(input), "; --image feeds one ",
                                                   nchw ? "[1,3,H,W] (NCHW)" : "[1,H,W,3] (NHWC)",
                                                   " RGB image (set --layout to match the model)"));
  }

  KILN_ASSIGN_OR_RETURN(Tensor image, ReadImageFile(image_path, decode));
  const int64_t image_h = image.dim(0), image_w = image.dim(1);
  if (want_h < 0) want_h = image_h;
  if (want_w < 0) want_w = image_w;
  // The model file sets the resized size: it is held to the same pixel limit as the image.
  if (want_h > decode.max_pixels / std::max<int64_t>(want_w, 1)) {
    return absl::ResourceExhaustedError(kiln::StrCat(
        "input '", input.name, "' of ", model, " wants a ", want_w, "x", want_h, " image, more than the limit of ",
        decode.max_pixels, " pixels; raise it with --max-image-pixels=N if the model is genuine"));
  }
  Tensor sized = image;
  if (want_h != image_h || want_w != image_w) {
    KILN_ASSIGN_OR_RETURN(sized, ResizeBilinear(image, want_h, want_w));
  }
  KILN_ASSIGN_OR_RETURN(Tensor pixels, ImageToTensor(sized, pre));

  Timing timing;
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, TimedRuns(*session, {{input.name, pixels}}, repeat, &timing));
  if (outputs.empty()) return absl::InternalError(kiln::StrCat(model, " produced no outputs"));
  const Tensor& scores_t = outputs[0];
  const std::string output_name = graph.outputs.empty() ? "output" : graph.outputs[0].name;
  const int64_t classes = scores_t.num_elements();
  if (classes < 1 || (scores_t.rank() > 0 && scores_t.dim(0) != 1 && scores_t.rank() != 1)) {
    return absl::InvalidArgumentError(kiln::StrCat("output '", output_name, "' is ", scores_t.TypeString(),
                                                   "; --image expects one row of class scores"));
  }

  // Probabilities as given, or the softmax of scores that are not a distribution (logits).
  std::vector<double> p(classes);
  double sum = 0, max_score = -INFINITY;
  bool in_unit = true;
  for (int64_t i = 0; i < classes; ++i) {
    p[i] = scores_t.GetAsDouble(i);
    sum += p[i];
    max_score = std::max(max_score, p[i]);
    in_unit = in_unit && p[i] >= 0.0 && p[i] <= 1.0;
  }
  const bool softmaxed = !(in_unit && std::fabs(sum - 1.0) < 1e-3);
  if (softmaxed) {
    double z = 0;
    for (double& v : p) z += (v = std::exp(v - max_score));
    for (double& v : p) v /= z;
  }
  std::vector<int64_t> order(classes);
  std::iota(order.begin(), order.end(), 0);
  top = std::min(top, classes);
  std::partial_sort(order.begin(), order.begin() + top, order.end(),
                    [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });

  std::vector<std::string> labels;
  std::string labels_path = args.Get("labels");
  if (labels_path.empty()) {
    const fs::path beside = fs::path(model).parent_path() / "imagenet_labels_1001.txt";
    if (fs::exists(beside)) labels_path = beside.string();
  }
  if (!labels_path.empty()) {
    KILN_ASSIGN_OR_RETURN(labels, ReadLabels(labels_path));
  }

  if (json) {
    std::vector<std::string> entries;
    for (int64_t r = 0; r < top; ++r) {
      const int64_t i = order[r];
      entries.push_back(absl::StrFormat("{\"rank\": %d, \"index\": %d, \"label\": %s, \"probability\": %.6f}", r + 1, i,
                                        JsonString(LabelOf(labels, classes, i)), p[i]));
    }
    out << "{\"model\": " << JsonString(model) << ", \"image\": " << JsonString(image_path)
        << absl::StrFormat(", \"image_size\": [%d, %d], \"input_size\": [%d, %d]", image_h, image_w, want_h, want_w)
        << ", \"classes\": " << classes << ", \"softmax_applied\": " << (softmaxed ? "true" : "false")
        << ", \"top\": [" << absl::StrJoin(entries, ", ") << "], " << TimingJson(timing) << "}\n";
    return absl::OkStatus();
  }
  out << "model        " << model << ": input '" << input.name << "' " << pixels.TypeString() << ", output '"
      << output_name << "' " << scores_t.TypeString() << "\n";
  out << absl::StrFormat("image        %s: %dx%d", image_path, image_w, image_h);
  if (want_h != image_h || want_w != image_w) out << absl::StrFormat(", resized to %dx%d (bilinear)", want_w, want_h);
  out << absl::StrFormat(", (pixel - %g) / %g, %s\n", pre.offset, pre.scale, nchw ? "NCHW" : "NHWC");
  out << "top " << top << (softmaxed ? " (softmax of the output)" : "")
      << (classes == 1001 ? " (1001 classes: index 0 is background, ImageNet class k is index k+1)" : "") << ":\n";
  for (int64_t r = 0; r < top; ++r) {
    const int64_t i = order[r];
    const std::string label = LabelOf(labels, classes, i);
    out << absl::StrFormat("  %d. %6.4f  %4d  %s\n", r + 1, p[i], i, label.empty() ? "(no label)" : label);
  }
  PrintTimingText(timing, out);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunCommand(const std::vector<std::string>& args, std::ostream& out) {
  KILN_ASSIGN_OR_RETURN(ParsedArgs parsed,
                   ParseArgs(args, {"input", "output-dir", "repeat", "image", "top", "labels", "scale", "offset", "layout",
                              "max-image-pixels"},
                             {"json"}));
  if (parsed.positional.size() != 1) return UsageError("kiln run takes exactly one MODEL");
  const std::string& model = parsed.positional[0];
  const bool image = parsed.Has("image"), npy = parsed.Has("input");
  // Neither is a run of a model without inputs (RunOnNpy refuses it when the model has inputs).
  if (image && npy) return UsageError("kiln run takes either --image FILE or --input NAME=FILE.npy, not both");
  if (image) {
    for (const char* only_npy : {"output-dir"}) {
      if (parsed.Has(only_npy)) return UsageError(kiln::StrCat("--", only_npy, " applies to --input runs"));
    }
    return ClassifyImage(model, parsed, out);
  }
  for (const char* only_image : {"top", "labels", "scale", "offset", "layout", "max-image-pixels"}) {
    if (parsed.Has(only_image)) return UsageError(kiln::StrCat("--", only_image, " applies to --image runs"));
  }
  return RunOnNpy(model, parsed, out);
}

}  // namespace kiln::cli
