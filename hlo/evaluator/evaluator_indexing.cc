// Indexing: gather, scatter, select-and-scatter, and the custom-call targets the evaluator knows.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "hlo/evaluator/evaluator.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/native_types.h"
#include "kiln/support/status.h"

namespace kiln::hlo::evaluator {
namespace {

using hlo::Literal;
using hlo::ShapeUtil;

bool Contains(absl::Span<const int64_t> v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

int64_t PositionOf(absl::Span<const int64_t> v, int64_t x) {
  return std::find(v.begin(), v.end(), x) - v.begin();
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
        kiln::StrCat(hlo::OpcodeString(instr.opcode()), " %", instr.name(), ": ", what));
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
    return absl::InvalidArgumentError(kiln::StrCat("gather %", instr.name(),
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
          kiln::StrCat("gather %", instr.name(), ": slice_sizes exceed the operand"));
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
        kiln::StrCat("scatter %", instr.name(), ": update_window_dims do not fit the operand rank"));
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
        kiln::StrCat("scatter %", instr.name(), ": window dimensions out of range"));
  }
  for (int64_t k = 0; k < n; ++k) {
    if (ops[k]->shape().dimensions() != odims || ops[n + 1 + k]->shape().dimensions() != udims) {
      return absl::InvalidArgumentError(
          kiln::StrCat("scatter %", instr.name(), ": operands or updates differ in shape"));
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
      for (int64_t k = 0; k < n; ++k) scalars.push_back(ScalarAt(outs[k], oi));
      for (int64_t k = 0; k < n; ++k) scalars.push_back(ScalarAt(*ops[n + 1 + k], ui));
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
      Literal candidate = ScalarAt(operand, lin);
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
      Literal current = ScalarAt(out, selected);
      Literal value = ScalarAt(source, s);
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

}  // namespace

bool IsKnownCustomCallTarget(std::string_view target) { return target == "Sharding"; }

absl::StatusOr<Literal> EvalCustomCall(const hlo::Instruction& instr, Operands ops) {
  // "Sharding" annotates its operand with a partitioning; on one device it is the identity.
  if (instr.custom_call_target() == "Sharding" && ops.size() == 1 &&
      ShapeUtil::Compatible(ops[0]->shape(), instr.shape())) {
    return *ops[0];
  }
  return absl::UnimplementedError(kiln::StrCat("the interpreter does not know custom-call target \"",
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
    case hlo::Opcode::kCustomCall:
      return EvalCustomCall(instr, ops);
    default:
      return absl::InternalError(
          kiln::StrCat("EvalIndexing: unexpected ", hlo::OpcodeString(instr.opcode())));
  }
}

}  // namespace kiln::hlo::evaluator
