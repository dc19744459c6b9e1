// Indexing and the remaining stateful-looking ops: gather, scatter, select-and-scatter,
// rng-bit-generator (XLA's Philox and ThreeFry bit generators), batch-norm training and grad,
// and the custom-call targets the interpreter knows.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "backends/interpreter/evaluator.h"
#include "hlo/str_util.h"
#include "kiln/hlo/native_types.h"
#include "kiln/support/status.h"

namespace kiln::backends::interpreter {
namespace {

using hlo::Literal;
using hlo::ShapeUtil;
using hlo::internal::Cat;

bool Contains(absl::Span<const int64_t> v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

int64_t PositionOf(absl::Span<const int64_t> v, int64_t x) {
  return std::find(v.begin(), v.end(), x) - v.begin();
}

int64_t Linear(absl::Span<const int64_t> index, absl::Span<const int64_t> strides) {
  int64_t l = 0;
  for (size_t i = 0; i < index.size(); ++i) l += index[i] * strides[i];
  return l;
}

Literal ScalarOf(const Literal& l, int64_t i) {
  Literal s(ShapeUtil::MakeScalarShape(l.shape().element_type()));
  int64_t w = hlo::ByteWidth(l.shape().element_type());
  std::memcpy(s.untyped_data(), static_cast<const uint8_t*>(l.untyped_data()) + i * w, w);
  return s;
}

void StoreScalarAt(Literal& l, int64_t i, const Literal& s) {
  int64_t w = hlo::ByteWidth(l.shape().element_type());
  std::memcpy(static_cast<uint8_t*>(l.untyped_data()) + i * w, s.untyped_data(), w);
}

// The start-index vector of `indices` at batch position `batch` (the indices' dimensions other
// than index_vector_dim, in order). index_vector_dim == rank means a vector of size 1.
std::vector<int64_t> IndexVector(const Literal& indices, int64_t index_vector_dim,
                                 absl::Span<const int64_t> strides,
                                 absl::Span<const int64_t> batch) {
  const auto& dims = indices.shape().dimensions();
  const int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> full(rank, 0);
  for (int64_t d = 0, b = 0; d < rank; ++d) {
    if (d != index_vector_dim) full[d] = batch[b++];
  }
  int64_t n = index_vector_dim < rank ? dims[index_vector_dim] : 1;
  std::vector<int64_t> out(n);
  for (int64_t k = 0; k < n; ++k) {
    if (index_vector_dim < rank) full[index_vector_dim] = k;
    out[k] = indices.GetAsInt64(Linear(full, strides));
  }
  return out;
}

// Position, among the indices' dimensions other than index_vector_dim, of indices dimension `d`.
int64_t BatchPosition(int64_t d, int64_t index_vector_dim) {
  return d < index_vector_dim ? d : d - 1;
}

bool AllIn(absl::Span<const int64_t> v, int64_t lo, int64_t hi) {
  return std::all_of(v.begin(), v.end(), [&](int64_t x) { return x >= lo && x < hi; });
}

// Checks what shape inference leaves to the evaluator: the dimension numbers index valid
// dimensions and the index vectors, batch dimensions and windows fit the shapes. `batch_sizes`
// are the sizes the indices' batch dimensions must have (the output's or the updates' scatter
// dimensions); `window_sizes` those of the window dimensions, checked against `window_bounds`.
absl::Status CheckIndexing(
    const hlo::Instruction& instr, const hlo::Shape& operand, const hlo::Shape& indices,
    int64_t index_vector_dim, absl::Span<const int64_t> index_map,
    absl::Span<const int64_t> operand_batching, absl::Span<const int64_t> indices_batching,
    absl::Span<const int64_t> batch_sizes, absl::Span<const int64_t> window_dims,
    absl::Span<const int64_t> window_sizes, absl::Span<const int64_t> window_bounds) {
  auto err = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        Cat(hlo::OpcodeString(instr.opcode()), " %", instr.name(), ": ", what));
  };
  const int64_t orank = operand.rank(), irank = indices.rank();
  if (index_vector_dim < 0 || index_vector_dim > irank) return err("index_vector_dim out of range");
  int64_t vec = index_vector_dim < irank ? indices.dimensions(index_vector_dim) : 1;
  if (static_cast<int64_t>(index_map.size()) != vec || !AllIn(index_map, 0, orank)) {
    return err("the index-to-operand map does not fit the index vector or the operand");
  }
  if (operand_batching.size() != indices_batching.size() || !AllIn(operand_batching, 0, orank) ||
      !AllIn(indices_batching, 0, irank) || Contains(indices_batching, index_vector_dim)) {
    return err("batching dimensions do not fit");
  }
  std::vector<int64_t> ibatch;
  for (int64_t d = 0; d < irank; ++d) {
    if (d != index_vector_dim) ibatch.push_back(indices.dimensions(d));
  }
  if (ibatch != std::vector<int64_t>(batch_sizes.begin(), batch_sizes.end())) {
    return err("the batch dimensions differ from the indices' dimensions");
  }
  for (size_t k = 0; k < operand_batching.size(); ++k) {
    if (operand.dimensions(operand_batching[k]) != indices.dimensions(indices_batching[k])) {
      return err("batching dimension sizes differ");
    }
  }
  if (window_dims.size() != window_sizes.size()) {
    return err("window dimensions do not fit the operand");
  }
  for (size_t k = 0; k < window_dims.size(); ++k) {
    if (window_sizes[k] < 0 || window_sizes[k] > window_bounds[window_dims[k]]) {
      return err("a window is larger than the operand");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Literal> EvalGather(const hlo::Instruction& instr, Operands ops) {
  const Literal& operand = *ops[0];
  const Literal& indices = *ops[1];
  const hlo::GatherDimensionNumbers& g = instr.gather_dimension_numbers();
  const auto& slice_sizes = instr.slice_sizes();
  const auto& odims = operand.shape().dimensions();
  const int64_t orank = static_cast<int64_t>(odims.size());
  auto ostrides = ShapeUtil::RowMajorStrides(odims);
  Literal out(instr.shape());
  const int64_t out_rank = instr.shape().rank();
  // Operand dimensions that the offset dimensions of the output walk, in order.
  std::vector<int64_t> window_dims;
  for (int64_t d = 0; d < orank; ++d) {
    if (!Contains(g.collapsed_slice_dims, d) && !Contains(g.operand_batching_dims, d)) {
      window_dims.push_back(d);
    }
  }
  if (window_dims.size() != g.offset_dims.size() || slice_sizes.size() != odims.size() ||
      !AllIn(g.offset_dims, 0, out_rank) || !AllIn(g.collapsed_slice_dims, 0, orank)) {
    return absl::InvalidArgumentError(Cat("gather %", instr.name(),
                                          ": offset_dims, slice_sizes and",
                                          " the operand rank do not fit"));
  }
  std::vector<int64_t> batch_sizes, window_sizes;
  for (int64_t d = 0; d < out_rank; ++d) {
    (Contains(g.offset_dims, d) ? window_sizes : batch_sizes)
        .push_back(instr.shape().dimensions(d));
  }
  for (int64_t d = 0; d < orank; ++d) {
    if (slice_sizes[d] < 0 || slice_sizes[d] > odims[d]) {
      return absl::InvalidArgumentError(
          Cat("gather %", instr.name(), ": slice_sizes exceed the operand"));
    }
  }
  KILN_RETURN_IF_ERROR(CheckIndexing(instr, operand.shape(), indices.shape(), g.index_vector_dim,
                                g.start_index_map, g.operand_batching_dims,
                                g.start_indices_batching_dims, batch_sizes, window_dims,
                                window_sizes, slice_sizes));
  auto istrides = ShapeUtil::RowMajorStrides(indices.shape().dimensions());
  const int64_t w = hlo::ByteWidth(operand.shape().element_type());
  auto* dst = static_cast<uint8_t*>(out.untyped_data());
  const auto* src = static_cast<const uint8_t*>(operand.untyped_data());
  int64_t o = 0;
  std::vector<int64_t> batch, start(orank), in(orank);
  ForEachIndex(instr.shape().dimensions(), [&](absl::Span<const int64_t> oi) {
    batch.clear();
    for (int64_t d = 0; d < out_rank; ++d) {
      if (!Contains(g.offset_dims, d)) batch.push_back(oi[d]);
    }
    std::vector<int64_t> vec = IndexVector(indices, g.index_vector_dim, istrides, batch);
    std::fill(start.begin(), start.end(), 0);
    for (size_t k = 0; k < g.start_index_map.size(); ++k) {
      int64_t d = g.start_index_map[k];
      start[d] = std::max<int64_t>(0, std::min<int64_t>(vec[k], odims[d] - slice_sizes[d]));
    }
    for (size_t k = 0; k < g.operand_batching_dims.size(); ++k) {
      start[g.operand_batching_dims[k]] =
          batch[BatchPosition(g.start_indices_batching_dims[k], g.index_vector_dim)];
    }
    for (int64_t d = 0; d < orank; ++d) in[d] = start[d];
    for (size_t k = 0; k < window_dims.size(); ++k) in[window_dims[k]] += oi[g.offset_dims[k]];
    std::memcpy(dst + o * w, src + Linear(in, ostrides) * w, w);
    ++o;
  });
  return out;
}

absl::StatusOr<Literal> EvalScatter(const hlo::Instruction& instr, Operands ops) {
  const int64_t n = (instr.operand_count() - 1) / 2;
  const Literal& indices = *ops[n];
  const hlo::ScatterDimensionNumbers& s = instr.scatter_dimension_numbers();
  const hlo::Computation& comp = *instr.to_apply();
  const auto& odims = ops[0]->shape().dimensions();
  const int64_t orank = static_cast<int64_t>(odims.size());
  auto ostrides = ShapeUtil::RowMajorStrides(odims);
  const auto& udims = ops[n + 1]->shape().dimensions();
  auto ustrides = ShapeUtil::RowMajorStrides(udims);
  std::vector<Literal> outs;
  for (int64_t k = 0; k < n; ++k) outs.push_back(*ops[k]);
  // Operand dimensions walked by the update window dimensions, in order.
  std::vector<int64_t> window_dims;
  for (int64_t d = 0; d < orank; ++d) {
    if (!Contains(s.inserted_window_dims, d) && !Contains(s.input_batching_dims, d)) {
      window_dims.push_back(d);
    }
  }
  if (window_dims.size() != s.update_window_dims.size()) {
    return absl::InvalidArgumentError(
        Cat("scatter %", instr.name(), ": update_window_dims do not fit the operand rank"));
  }
  std::vector<int64_t> scatter_dims, scatter_sizes, window_sizes;
  for (int64_t d = 0; d < static_cast<int64_t>(udims.size()); ++d) {
    if (Contains(s.update_window_dims, d)) {
      window_sizes.push_back(udims[d]);
    } else {
      scatter_dims.push_back(d);
      scatter_sizes.push_back(udims[d]);
    }
  }
  if (!AllIn(s.update_window_dims, 0, static_cast<int64_t>(udims.size())) ||
      !AllIn(s.inserted_window_dims, 0, orank)) {
    return absl::InvalidArgumentError(
        Cat("scatter %", instr.name(), ": window dimensions out of range"));
  }
  for (int64_t k = 0; k < n; ++k) {
    if (ops[k]->shape().dimensions() != odims || ops[n + 1 + k]->shape().dimensions() != udims) {
      return absl::InvalidArgumentError(
          Cat("scatter %", instr.name(), ": operands or updates differ in shape"));
    }
  }
  KILN_RETURN_IF_ERROR(CheckIndexing(instr, ops[0]->shape(), indices.shape(), s.index_vector_dim,
                                s.scatter_dims_to_operand_dims, s.input_batching_dims,
                                s.scatter_indices_batching_dims, scatter_sizes, window_dims,
                                window_sizes, odims));
  auto istrides = ShapeUtil::RowMajorStrides(indices.shape().dimensions());
  // Extent of the update window along each operand dimension (1 for inserted/batching ones).
  std::vector<int64_t> extent(orank, 1);
  for (size_t k = 0; k < window_dims.size(); ++k) extent[window_dims[k]] = window_sizes[k];
  absl::Status status;
  std::vector<int64_t> start(orank), in(orank), u(udims.size());
  // XLA's order: scatter indices in row-major order, each with its whole window.
  ForEachIndex(scatter_sizes, [&](absl::Span<const int64_t> si) {
    if (!status.ok()) return;
    std::vector<int64_t> vec = IndexVector(indices, s.index_vector_dim, istrides, si);
    std::fill(start.begin(), start.end(), 0);
    for (size_t k = 0; k < s.scatter_dims_to_operand_dims.size(); ++k) {
      start[s.scatter_dims_to_operand_dims[k]] = vec[k];
    }
    for (size_t k = 0; k < s.input_batching_dims.size(); ++k) {
      start[s.input_batching_dims[k]] =
          si[BatchPosition(s.scatter_indices_batching_dims[k], s.index_vector_dim)];
    }
    // A window that does not fit entirely inside the operand is skipped (XLA's semantics).
    for (int64_t d = 0; d < orank; ++d) {
      if (start[d] < 0 || start[d] > odims[d] - extent[d]) return;
    }
    ForEachIndex(window_sizes, [&](absl::Span<const int64_t> wi) {
      if (!status.ok()) return;
      for (size_t k = 0; k < scatter_dims.size(); ++k) u[scatter_dims[k]] = si[k];
      for (size_t k = 0; k < s.update_window_dims.size(); ++k) u[s.update_window_dims[k]] = wi[k];
      for (int64_t d = 0; d < orank; ++d) in[d] = start[d];
      for (size_t k = 0; k < window_dims.size(); ++k) in[window_dims[k]] += wi[k];
      int64_t oi = Linear(in, ostrides), ui = Linear(u, ustrides);
      std::vector<Literal> scalars;
      for (int64_t k = 0; k < n; ++k) scalars.push_back(ScalarOf(outs[k], oi));
      for (int64_t k = 0; k < n; ++k) scalars.push_back(ScalarOf(*ops[n + 1 + k], ui));
      std::vector<const Literal*> args;
      for (const Literal& l : scalars) args.push_back(&l);
      absl::StatusOr<Literal> r = EvaluateComputation(comp, args);
      if (!r.ok()) {
        status = r.status();
        return;
      }
      if (n == 1 && !r->shape().IsTuple()) {
        StoreScalarAt(outs[0], oi, *r);
      } else {
        for (int64_t k = 0; k < n; ++k) StoreScalarAt(outs[k], oi, r->tuple_elements()[k]);
      }
    });
  });
  KILN_RETURN_IF_ERROR(status);
  if (n == 1) return std::move(outs[0]);
  return Literal::MakeTuple(std::move(outs));
}

// For every source element (in row-major order), `select` picks one operand element of its window
// (the first valid one, replaced by each later candidate for which select(current, candidate) is
// false); `scatter` then combines the source value into the result there. Padding positions are
// never selected; the result starts as the broadcast init value.
absl::StatusOr<Literal> EvalSelectAndScatter(const hlo::Instruction& instr, Operands ops) {
  const Literal& operand = *ops[0];
  const Literal& source = *ops[1];
  const hlo::Computation& select = *instr.called_computations()[0];
  const hlo::Computation& scatter = *instr.called_computations()[1];
  const hlo::Window& win = instr.window();
  const auto& odims = operand.shape().dimensions();
  const int64_t rank = static_cast<int64_t>(odims.size());
  auto ostrides = ShapeUtil::RowMajorStrides(odims);
  Literal out(instr.shape());
  const int64_t count = out.element_count();
  for (int64_t i = 0; i < count; ++i) StoreScalarAt(out, i, *ops[2]);
  std::vector<int64_t> wsizes;
  for (const auto& w : win.dimensions) wsizes.push_back(w.size);
  absl::Status status;
  int64_t s = 0;
  ForEachIndex(source.shape().dimensions(), [&](absl::Span<const int64_t> si) {
    if (!status.ok()) return;
    int64_t selected = -1;
    Literal selected_value;
    ForEachIndex(wsizes, [&](absl::Span<const int64_t> k) {
      if (!status.ok()) return;
      int64_t lin = 0;
      for (int64_t i = 0; i < rank; ++i) {
        const hlo::WindowDimension& w = win.dimensions[i];
        int64_t pos = si[i] * w.stride - w.padding_low + k[i] * w.window_dilation;
        if (pos < 0 || pos % w.base_dilation != 0) return;
        pos /= w.base_dilation;
        if (pos >= odims[i]) return;
        lin += pos * ostrides[i];
      }
      Literal candidate = ScalarOf(operand, lin);
      if (selected < 0) {
        selected = lin;
        selected_value = std::move(candidate);
        return;
      }
      const Literal* args[] = {&selected_value, &candidate};
      absl::StatusOr<Literal> keep = EvaluateComputation(select, args);
      if (!keep.ok()) {
        status = keep.status();
        return;
      }
      if (!keep->data<bool>()[0]) {
        selected = lin;
        selected_value = std::move(candidate);
      }
    });
    if (status.ok() && selected >= 0) {
      Literal current = ScalarOf(out, selected);
      Literal value = ScalarOf(source, s);
      const Literal* args[] = {&current, &value};
      absl::StatusOr<Literal> r = EvaluateComputation(scatter, args);
      if (!r.ok()) {
        status = r.status();
      } else {
        StoreScalarAt(out, selected, *r);
      }
    }
    ++s;
  });
  KILN_RETURN_IF_ERROR(status);
  return out;
}

// ----- Random bits: XLA's bit generators (xla/hlo/builder/lib/prng.cc), element for element. -----

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

absl::StatusOr<Literal> EvalRngBitGenerator(const hlo::Instruction& instr, Operands ops) {
  const Literal& state_in = *ops[0];
  const hlo::Shape& data_shape = instr.shape().tuple_shapes(1);
  if (state_in.shape().element_type() != hlo::PrimitiveType::U64 || state_in.element_count() < 2) {
    return absl::InvalidArgumentError(
        Cat("rng-bit-generator %", instr.name(), ": the state must be u64[n], n >= 2"));
  }
  const int64_t width = hlo::BitWidth(data_shape.element_type());
  if (width != 8 && width != 16 && width != 32 && width != 64) {
    return absl::InvalidArgumentError(
        Cat("rng-bit-generator %", instr.name(), ": bad output type"));
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

// ----- Batch normalization. Statistics per feature over every other dimension, in the element
// type's compute type: mean = sum(x) / m, variance = sum((x - mean)^2) / m (two passes). -----

// The per-feature view of a batch-norm operand: nf features, m elements each.
struct FeatureLayout {
  FeatureLayout(const hlo::Shape& shape, int64_t feature_index)
      : nf(shape.dimensions(feature_index)),
        count(ShapeUtil::ElementsIn(shape)),
        m(nf == 0 ? 0 : count / nf),
        stride(ShapeUtil::RowMajorStrides(shape.dimensions())[feature_index]) {}
  int64_t feature(int64_t i) const { return (i / stride) % nf; }  // Of row-major element i.
  int64_t nf, count, m, stride;
};

absl::StatusOr<Literal> EvalBatchNormTraining(const hlo::Instruction& instr, Operands ops) {
  const hlo::Shape& shape = ops[0]->shape();
  const FeatureLayout layout(shape, instr.feature_index());
  const int64_t nf = layout.nf, count = layout.count, m = layout.m;
  Literal y(instr.shape().tuple_shapes(0));
  Literal mean_out(instr.shape().tuple_shapes(1));
  Literal var_out(instr.shape().tuple_shapes(2));
  bool ok = hlo::DispatchArrayType(shape.element_type(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (hlo::kIsFloat<T>) {
      using C = hlo::ComputeType<T>;
      auto x = ops[0]->data<T>();
      auto scale = ops[1]->data<T>();
      auto offset = ops[2]->data<T>();
      std::vector<C> sum(nf, 0), sq(nf, 0);
      auto feature = [&](int64_t i) { return layout.feature(i); };
      for (int64_t i = 0; i < count; ++i) sum[feature(i)] += hlo::ToCompute(x[i]);
      std::vector<C> mean(nf), var(nf);
      for (int64_t c = 0; c < nf; ++c) mean[c] = sum[c] / static_cast<C>(m);
      for (int64_t i = 0; i < count; ++i) {
        C d = hlo::ToCompute(x[i]) - mean[feature(i)];
        sq[feature(i)] += d * d;
      }
      for (int64_t c = 0; c < nf; ++c) var[c] = sq[c] / static_cast<C>(m);
      const C eps = static_cast<C>(instr.epsilon());
      auto yd = y.data<T>();
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = feature(i);
        yd[i] = hlo::FromCompute<T>((hlo::ToCompute(x[i]) - mean[c]) / std::sqrt(var[c] + eps) *
                                        hlo::ToCompute(scale[c]) +
                                    hlo::ToCompute(offset[c]));
      }
      for (int64_t c = 0; c < nf; ++c) {
        mean_out.data<T>()[c] = hlo::FromCompute<T>(mean[c]);
        var_out.data<T>()[c] = hlo::FromCompute<T>(var[c]);
      }
      return true;
    }
    return false;
  });
  if (!ok)
    return absl::InvalidArgumentError(Cat("batch-norm-training %", instr.name(), ": not a float"));
  return Literal::MakeTuple({std::move(y), std::move(mean_out), std::move(var_out)});
}

// XLA's batch-norm-grad, with m elements per feature and r = rsqrt(variance + epsilon):
//   grad_offset = sum(dy); grad_scale = sum(dy * (x - mean)) * r;
//   grad_operand = scale * r * (dy - grad_offset / m - (x - mean) * r * grad_scale / m).
absl::StatusOr<Literal> EvalBatchNormGrad(const hlo::Instruction& instr, Operands ops) {
  const hlo::Shape& shape = ops[0]->shape();
  const FeatureLayout layout(shape, instr.feature_index());
  const int64_t nf = layout.nf, count = layout.count, m = layout.m;
  Literal dx(instr.shape().tuple_shapes(0));
  Literal dscale(instr.shape().tuple_shapes(1));
  Literal doffset(instr.shape().tuple_shapes(2));
  bool ok = hlo::DispatchArrayType(shape.element_type(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (hlo::kIsFloat<T>) {
      using C = hlo::ComputeType<T>;
      auto x = ops[0]->data<T>();
      auto scale = ops[1]->data<T>();
      auto mean = ops[2]->data<T>();
      auto var = ops[3]->data<T>();
      auto dy = ops[4]->data<T>();
      const C eps = static_cast<C>(instr.epsilon());
      auto feature = [&](int64_t i) { return layout.feature(i); };
      std::vector<C> sum_dy(nf, 0), sum_dy_xc(nf, 0), r(nf);
      for (int64_t c = 0; c < nf; ++c) r[c] = C(1) / std::sqrt(hlo::ToCompute(var[c]) + eps);
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = feature(i);
        sum_dy[c] += hlo::ToCompute(dy[i]);
        sum_dy_xc[c] += hlo::ToCompute(dy[i]) * (hlo::ToCompute(x[i]) - hlo::ToCompute(mean[c]));
      }
      auto dxd = dx.data<T>();
      const C mc = static_cast<C>(m);
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = feature(i);
        C xc = hlo::ToCompute(x[i]) - hlo::ToCompute(mean[c]);
        C gs = sum_dy_xc[c] * r[c];
        dxd[i] =
            hlo::FromCompute<T>(hlo::ToCompute(scale[c]) * r[c] *
                                (hlo::ToCompute(dy[i]) - sum_dy[c] / mc - xc * r[c] * gs / mc));
      }
      for (int64_t c = 0; c < nf; ++c) {
        dscale.data<T>()[c] = hlo::FromCompute<T>(sum_dy_xc[c] * r[c]);
        doffset.data<T>()[c] = hlo::FromCompute<T>(sum_dy[c]);
      }
      return true;
    }
    return false;
  });
  if (!ok)
    return absl::InvalidArgumentError(Cat("batch-norm-grad %", instr.name(), ": not a float"));
  return Literal::MakeTuple({std::move(dx), std::move(dscale), std::move(doffset)});
}

}  // namespace

bool IsKnownCustomCallTarget(std::string_view target) { return target == "Sharding"; }

absl::StatusOr<Literal> EvalCustomCall(const hlo::Instruction& instr, Operands ops) {
  // "Sharding" annotates its operand with a partitioning; on one device it is the identity.
  if (instr.custom_call_target() == "Sharding" && ops.size() == 1 &&
      ShapeUtil::Compatible(ops[0]->shape(), instr.shape())) {
    return *ops[0];
  }
  return absl::UnimplementedError(Cat("the interpreter does not know custom-call target \"",
                                      instr.custom_call_target(), "\" (instruction %", instr.name(),
                                      ")"));
}

absl::StatusOr<Literal> EvalIndexing(const hlo::Instruction& instr, Operands ops) {
  switch (instr.opcode()) {
    case hlo::Opcode::kGather:
      return EvalGather(instr, ops);
    case hlo::Opcode::kScatter:
      return EvalScatter(instr, ops);
    case hlo::Opcode::kSelectAndScatter:
      return EvalSelectAndScatter(instr, ops);
    case hlo::Opcode::kRngBitGenerator:
      return EvalRngBitGenerator(instr, ops);
    case hlo::Opcode::kBatchNormTraining:
      return EvalBatchNormTraining(instr, ops);
    case hlo::Opcode::kBatchNormGrad:
      return EvalBatchNormGrad(instr, ops);
    case hlo::Opcode::kCustomCall:
      return EvalCustomCall(instr, ops);
    default:
      return absl::InternalError(
          Cat("EvalIndexing: unexpected ", hlo::OpcodeString(instr.opcode())));
  }
}

}  // namespace kiln::backends::interpreter
