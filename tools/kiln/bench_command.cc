// `kiln bench`: latency of a model on given or random inputs, with the JIT's clusters and compile time.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kiln/image/npy.h"
#include "kiln/session/session.h"
#include "kiln/support/flags.h"
#include "kiln/support/status.h"
#include "kiln/support/strings.h"
#include "tools/kiln/args.h"
#include "tools/kiln/cli.h"
#include "tools/kiln/common.h"

namespace kiln::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Sets the calling thread's OpenMP thread count (oneDNN's intra-op threads) to `threads` when
// `threads` >= 1 and an OpenMP runtime is loaded; returns the count now in effect (`threads`, or 1
// for 0, without OpenMP).
int SetIntraOpThreads(int threads) {
  using GetMaxThreads = int (*)();
  using SetNumThreads = void (*)(int);
  auto get = reinterpret_cast<GetMaxThreads>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  auto set = reinterpret_cast<SetNumThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (get == nullptr || set == nullptr) return std::max(threads, 1);
  if (threads >= 1) set(threads);
  return get();
}

// The "model name" line of /proc/cpuinfo; "" when it cannot be read.
std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return "";
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// Uniform in [0, 1) from 53 random bits (the same values with every standard library).
double Unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

template <typename T>
void FillInts(Tensor& t, std::mt19937_64& rng) {
  T* data = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) data[i] = static_cast<T>(rng() % 10);
}

// A tensor of `info`'s declared dtype and (static) shape: floats uniform in [-1, 1), bools 0 or 1,
// other integers in [0, 10).
absl::StatusOr<Tensor> RandomTensor(const ValueInfo& info, std::mt19937_64& rng) {
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(info.dtype, info.dims));
  const int64_t n = t.num_elements();
  switch (info.dtype) {
    case DType::kF32:
      for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(2 * Unit(rng) - 1);
      return t;
    case DType::kF64:
      for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = 2 * Unit(rng) - 1;
      return t;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) t.data<Half>()[i] = FloatToHalf(static_cast<float>(2 * Unit(rng) - 1));
      return t;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        t.data<BFloat16>()[i] = FloatToBFloat16(static_cast<float>(2 * Unit(rng) - 1));
      }
      return t;
    case DType::kBool:
      for (int64_t i = 0; i < n; ++i) t.data<bool>()[i] = (rng() & 1) != 0;
      return t;
    case DType::kS8: FillInts<int8_t>(t, rng); return t;
    case DType::kU8: FillInts<uint8_t>(t, rng); return t;
    case DType::kS16: FillInts<int16_t>(t, rng); return t;
    case DType::kU16: FillInts<uint16_t>(t, rng); return t;
    case DType::kS32: FillInts<int32_t>(t, rng); return t;
    case DType::kU32: FillInts<uint32_t>(t, rng); return t;
    case DType::kS64: FillInts<int64_t>(t, rng); return t;
    case DType::kU64: FillInts<uint64_t>(t, rng); return t;
    case DType::kInvalid: break;
  }
  return absl::UnimplementedError(kiln::StrCat("input '", info.name, "' has no dtype; pass --input ", info.name,
                                               "=FILE.npy"));
}

// The value at `fraction` of the sorted `values` by the nearest-rank method (p90: fraction 0.9).
double Percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(fraction * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

struct BenchResult {
  double first_ms = 0;
  std::vector<double> steady_ms;
  SessionStats before, after_first, after_all;
  std::vector<std::string> input_notes;  // "x f32[1,3,224,224] random" or "x f32[...] from FILE".
};

}  // namespace

absl::Status BenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  KILN_ASSIGN_OR_RETURN(ParsedArgs parsed, ParseArgs(args, {"input", "threads", "repeat", "warmup", "seed"}, {"json"}));
  if (parsed.positional.size() != 1) return UsageError("kiln bench takes exactly one MODEL");
  const std::string& model = parsed.positional[0];
  KILN_ASSIGN_OR_RETURN(int64_t threads, parsed.GetInt("threads", 1, 0, 4096));
  KILN_ASSIGN_OR_RETURN(int64_t repeat, parsed.GetInt("repeat", 20, 1, 1000000));
  KILN_ASSIGN_OR_RETURN(int64_t warmup, parsed.GetInt("warmup", 3, 0, 1000000));
  KILN_ASSIGN_OR_RETURN(int64_t seed, parsed.GetInt("seed", 0, 0, std::numeric_limits<int64_t>::max()));
  const bool json = parsed.Has("json");
  std::map<std::string, std::string> files;  // --input NAME=FILE.npy, by name.
  for (const std::string& spec : parsed.All("input")) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return UsageError(kiln::StrCat("--input needs NAME=FILE.npy, got '", spec, "'"));
    }
    if (!files.emplace(spec.substr(0, eq), spec.substr(eq + 1)).second) {
      return UsageError(kiln::StrCat("input '", spec.substr(0, eq), "' is given twice"));
    }
  }

  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Load(model));
  const std::vector<const ValueInfo*> inputs = FedInputs(session->graph());
  auto input_list = [&] {
    std::vector<std::string> names;
    for (const ValueInfo* info : inputs) names.push_back(kiln::StrCat(info->name, " ", ValueTypeText(*info)));
    return names.empty() ? std::string("none") : absl::StrJoin(names, ", ");
  };
  for (const auto& [name, file] : files) {
    const bool known = std::any_of(inputs.begin(), inputs.end(), [&](const ValueInfo* i) { return i->name == name; });
    if (!known) {
      return UsageError(kiln::StrCat("--input ", name, ": ", model, " has no input '", name, "'; its inputs are: ",
                                     input_list()));
    }
  }

  // Feeds in the model's input order; random ones need every dimension known.
  BenchResult result;
  Feeds feeds;
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  for (const ValueInfo* info : inputs) {
    auto file = files.find(info->name);
    if (file != files.end()) {
      KILN_ASSIGN_OR_RETURN(Tensor t, ReadNpyFile(file->second));
      result.input_notes.push_back(kiln::StrCat(info->name, " ", t.TypeString(), " from ", file->second));
      feeds.emplace_back(info->name, std::move(t));
      continue;
    }
    const bool is_static =
        info->has_shape && std::all_of(info->dims.begin(), info->dims.end(), [](int64_t d) { return d >= 0; });
    if (!is_static) {
      return UsageError(kiln::StrCat("input '", info->name, "' of ", model, " is ", ValueTypeText(*info),
                                     ", whose shape is not static: pass --input ", info->name,
                                     "=FILE.npy to feed it"));
    }
    KILN_ASSIGN_OR_RETURN(Tensor t, RandomTensor(*info, rng));
    result.input_notes.push_back(kiln::StrCat(info->name, " ", t.TypeString(), " random (seed ", seed, ")"));
    feeds.emplace_back(info->name, std::move(t));
  }

  const int effective_threads = SetIntraOpThreads(static_cast<int>(threads));
  result.before = session->stats();
  Clock::time_point start = Clock::now();
  absl::StatusOr<std::vector<Tensor>> first = session->Run(feeds);
  result.first_ms = Ms(Clock::now() - start);
  KILN_RETURN_IF_ERROR(first.status());
  result.after_first = session->stats();
  for (int64_t i = 0; i < warmup; ++i) {
    KILN_RETURN_IF_ERROR(Annotate(session->Run(feeds).status(), kiln::StrCat("warm-up run ", i + 1)));
  }
  for (int64_t i = 0; i < repeat; ++i) {
    start = Clock::now();
    absl::StatusOr<std::vector<Tensor>> again = session->Run(feeds);
    result.steady_ms.push_back(Ms(Clock::now() - start));
    KILN_RETURN_IF_ERROR(Annotate(again.status(), kiln::StrCat("timed run ", i + 1)));
  }
  result.after_all = session->stats();

  const std::vector<double>& steady = result.steady_ms;
  const double median = Median(steady);
  const double p90 = Percentile(steady, 0.9);
  const double min = *std::min_element(steady.begin(), steady.end());
  const double mean = std::accumulate(steady.begin(), steady.end(), 0.0) / static_cast<double>(steady.size());
  const int auto_jit = GetFlags().auto_jit;
  const int clusters = result.after_all.num_clusters;
  const int64_t compilations = result.after_all.compilations - result.before.compilations;
  const int64_t steady_compilations = result.after_all.compilations - result.after_first.compilations;
  const double compile_ms = result.after_first.compile_ms - result.before.compile_ms;
  const int64_t failures = result.after_all.failures - result.before.failures;
  const int64_t kernels_chosen = result.after_all.kernels_chosen - result.before.kernels_chosen;
  const std::string cpu = CpuName();

  if (json) {
    out << "{\"model\": " << JsonString(model)
        << absl::StrFormat(
               ", \"first_run_ms\": %.3f, \"latency_ms_median\": %.3f, \"latency_ms_p90\": %.3f, "
               "\"latency_ms_min\": %.3f, \"latency_ms_mean\": %.3f, \"repeat\": %d, \"warmup\": %d, "
               "\"threads\": %d, \"seed\": %d, \"auto_jit\": %d, \"clusters\": %d, \"compilations\": %d, "
               "\"steady_compilations\": %d, \"compile_ms\": %.3f, \"jit_failures\": %d, "
               "\"kernels_chosen\": %d, \"compiled_in_parallel\": %d, \"parallel_compile_ms\": %.3f, \"cpu\": ",
               result.first_ms, median, p90, min, mean, repeat, warmup, effective_threads, seed, auto_jit, clusters,
               compilations, steady_compilations, compile_ms, failures, kernels_chosen,
               result.after_all.compiled_in_parallel, result.after_all.parallel_compile_ms)
        << JsonString(cpu) << "}\n";
    return absl::OkStatus();
  }
  out << "model        " << model << "\n";
  for (const std::string& note : result.input_notes) out << "input        " << note << "\n";
  out << absl::StrFormat("threads      %d (OpenMP, intra-op)\n", effective_threads);
  out << "cpu          " << (cpu.empty() ? "(unknown)" : cpu) << "\n";
  if (auto_jit > 0) {
    out << absl::StrFormat("jit          auto_jit=%d: %d cluster(s), %d compilation(s) in %.1f ms", auto_jit, clusters,
                           compilations, compile_ms);
    if (result.after_all.compiled_in_parallel > 0) {
      out << absl::StrFormat(" (%d compiled in parallel in %.1f ms)", result.after_all.compiled_in_parallel,
                             result.after_all.parallel_compile_ms);
    }
    if (steady_compilations > 0) out << absl::StrFormat(" (%d after the first run)", steady_compilations);
    if (failures > 0) out << absl::StrFormat(", %d lookup(s) fell back to the kernels", failures);
    if (kernels_chosen > 0) {
      out << absl::StrFormat(", %d measured slower than the kernels, which run them", kernels_chosen);
    }
    out << "\n";
  } else {
    out << "jit          off (KILN_FLAGS=--auto_jit=2 turns it on)\n";
  }
  out << absl::StrFormat("first run    %.3f ms%s\n", result.first_ms,
                         compilations > steady_compilations ? " (includes JIT compilation)" : "");
  out << absl::StrFormat("steady       median %.3f ms  p90 %.3f  min %.3f  mean %.3f  (%d runs after %d warm-up)\n",
                         median, p90, min, mean, repeat, warmup);
  return absl::OkStatus();
}

}  // namespace kiln::cli
