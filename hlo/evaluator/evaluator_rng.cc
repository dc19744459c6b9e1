// rng-bit-generator: XLA's Philox and ThreeFry bit generators (xla/hlo/builder/lib/prng.cc),
// element for element.
#include <array>
#include <cstring>

#include "hlo/evaluator/evaluator.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/native_types.h"

namespace kiln::hlo::evaluator {
namespace {

using hlo::Literal;
using hlo::ShapeUtil;

using U32x4 = std::array<uint32_t, 4>;

// Philox4x32 with 10 rounds.
U32x4 Philox4x32(U32x4 x, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(x[0]) * 0xD2511F53u;
    uint64_t p1 = static_cast<uint64_t>(x[2]) * 0xCD9E8D57u;
    x = {static_cast<uint32_t>(p1 >> 32) ^ x[1] ^ k0, static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ x[3] ^ k1, static_cast<uint32_t>(p0)};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return x;
}

uint32_t RotateLeft(uint32_t v, int d) { return (v << d) | (v >> (32 - d)); }

// ThreeFry2x32 with 20 rounds.
std::array<uint32_t, 2> ThreeFry2x32(std::array<uint32_t, 2> x, uint32_t key0, uint32_t key1) {
  static constexpr int kRot[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  const uint32_t ks[3] = {key0, key1, 0x1BD11BDAu ^ key0 ^ key1};
  x[0] += ks[0];
  x[1] += ks[1];
  for (int group = 0; group < 5; ++group) {
    for (int r = 0; r < 4; ++r) {
      x[0] += x[1];
      x[1] = RotateLeft(x[1], kRot[(group % 2) * 4 + r]);
      x[1] ^= x[0];
    }
    x[0] += ks[(group + 1) % 3];
    x[1] += ks[(group + 2) % 3] + static_cast<uint32_t>(group + 1);
  }
  return x;
}

// Stores the low `width` bytes of `bits` as element i of `out`.
void StoreBits(Literal& out, int64_t i, uint64_t bits) {
  int64_t w = hlo::ByteWidth(out.shape().element_type());
  std::memcpy(static_cast<uint8_t*>(out.untyped_data()) + i * w, &bits, w);  // Little endian.
}

}  // namespace

absl::StatusOr<Literal> EvalRngBitGenerator(const hlo::Instruction& instr, Operands ops) {
  const Literal& state_in = *ops[0];
  const hlo::Shape& data_shape = instr.shape().tuple_shapes(1);
  if (state_in.shape().element_type() != hlo::PrimitiveType::U64 || state_in.element_count() < 2) {
    return absl::InvalidArgumentError(
        kiln::StrCat("rng-bit-generator %", instr.name(), ": the state must be u64[n], n >= 2"));
  }
  const int64_t width = hlo::BitWidth(data_shape.element_type());
  if (width != 8 && width != 16 && width != 32 && width != 64) {
    return absl::InvalidArgumentError(
        kiln::StrCat("rng-bit-generator %", instr.name(), ": bad output type"));
  }
  auto state = state_in.data<uint64_t>();
  const uint64_t key = state[0];
  const uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  Literal data(data_shape);
  Literal new_state = state_in;
  auto ns = new_state.data<uint64_t>();
  const int64_t n = data.element_count();
  hlo::RandomAlgorithm alg = instr.rng_algorithm();
  if (alg == hlo::RandomAlgorithm::kDefault) alg = hlo::RandomAlgorithm::kPhilox;  // XLA CPU's.
  if (alg == hlo::RandomAlgorithm::kPhilox) {
    // The 128-bit counter is (low, high) = state[1..2] for a state of 3+ words, else
    // (state[1], state[0]); counter + i feeds Philox for the i-th block of four words.
    uint64_t lo = state[1];
    uint64_t hi = state_in.element_count() >= 3 ? state[2] : state[0];
    const int64_t words = width == 64 ? 2 * n : n;
    const int64_t blocks = (words + 3) / 4;
    std::vector<U32x4> out(blocks);
    for (int64_t i = 0; i < blocks; ++i) {
      uint64_t c_lo = lo + static_cast<uint64_t>(i);
      uint64_t c_hi = c_lo < lo ? hi + 1 : hi;
      out[i] = Philox4x32({static_cast<uint32_t>(c_lo), static_cast<uint32_t>(c_lo >> 32),
                           static_cast<uint32_t>(c_hi), static_cast<uint32_t>(c_hi >> 32)},
                          k0, k1);
    }
    for (int64_t j = 0; j < n; ++j) {
      if (width == 64) {
        // Two 64-bit numbers per block: words (0,1) and (2,3), round-robin.
        const U32x4& b = out[j / 2];
        int h = static_cast<int>(j % 2) * 2;
        StoreBits(data, j, static_cast<uint64_t>(b[h]) | static_cast<uint64_t>(b[h + 1]) << 32);
      } else {
        StoreBits(data, j, out[j / 4][j % 4]);  // Narrow types keep the low bits.
      }
    }
    uint64_t new_lo = lo + static_cast<uint64_t>(blocks);
    ns[1] = new_lo;
    if (state_in.element_count() >= 3) ns[2] = new_lo < lo ? hi + 1 : hi;
    return Literal::MakeTuple({std::move(new_state), std::move(data)});
  }
  // ThreeFry: counter = state[1] + the row-major element index. 64-bit outputs use one pair
  // per element; narrower ones split the shape in halves along one dimension (XLA's
  // SplitShapeIntoHalves) and interleave the pair's two words along it.
  const uint64_t counter = state[1];
  const auto& dims = data_shape.dimensions();
  if (width == 64) {
    for (int64_t j = 0; j < n; ++j) {
      uint64_t c = counter + static_cast<uint64_t>(j);
      auto x = ThreeFry2x32({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32)}, k0, k1);
      StoreBits(data, j, static_cast<uint64_t>(x[0]) | static_cast<uint64_t>(x[1]) << 32);
    }
    ns[1] = counter + static_cast<uint64_t>(n);
    return Literal::MakeTuple({std::move(new_state), std::move(data)});
  }
  const int64_t rank = static_cast<int64_t>(dims.size());
  int64_t split = 0;
  if (rank > 0) {
    split = -1;
    for (int64_t i = 0; i < rank && split < 0; ++i) {
      if (dims[i] % 2 == 0) split = i;
    }
    if (split < 0) {
      for (int64_t i = 0; i < rank; ++i) {
        if (split < 0 || dims[i] > dims[split]) split = i;
      }
    }
  }
  std::vector<int64_t> half = rank == 0 ? std::vector<int64_t>{1} : std::vector<int64_t>(dims);
  half[split] = (half[split] + 1) / 2;
  auto half_strides = ShapeUtil::RowMajorStrides(half);
  int64_t half_count = 1;
  for (int64_t d : half) half_count *= d;
  std::vector<std::array<uint32_t, 2>> words(half_count);
  for (int64_t j = 0; j < half_count; ++j) {
    uint64_t c = counter + static_cast<uint64_t>(j);
    words[j] = ThreeFry2x32({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32)}, k0, k1);
  }
  if (rank == 0) {
    StoreBits(data, 0, words[0][0]);
  } else {
    int64_t j = 0;
    std::vector<int64_t> h(rank);
    ForEachIndex(dims, [&](absl::Span<const int64_t> idx) {
      for (int64_t d = 0; d < rank; ++d) h[d] = idx[d];
      h[split] = idx[split] / 2;
      StoreBits(data, j++, words[Linear(h, half_strides)][idx[split] % 2]);
    });
  }
  ns[1] = counter + static_cast<uint64_t>(half_count);
  return Literal::MakeTuple({std::move(new_state), std::move(data)});
}

}  // namespace kiln::hlo::evaluator
