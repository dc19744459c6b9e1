// Data movement: broadcast, reshape, bitcast, transpose, slice, dynamic-slice,
// dynamic-update-slice, concatenate, pad, reverse, iota. Elements move as bytes.
#include <algorithm>
#include <cstring>

#include "hlo/evaluator/evaluator.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/native_types.h"

namespace kiln::hlo::evaluator {
namespace {

using hlo::Literal;
using hlo::Opcode;
using hlo::ShapeUtil;

const uint8_t* Bytes(const Literal& l) { return static_cast<const uint8_t*>(l.untyped_data()); }
uint8_t* Bytes(Literal& l) { return static_cast<uint8_t*>(l.untyped_data()); }

// For each output index, copies the input element at `src_linear(out_index)`.
template <typename F>
Literal Gather(const hlo::Shape& out_shape, const Literal& in, F src_linear) {
  Literal out(out_shape);
  int64_t w = hlo::ByteWidth(in.shape().element_type());
  const uint8_t* src = Bytes(in);
  uint8_t* dst = Bytes(out);
  int64_t o = 0;
  ForEachIndex(out_shape.dimensions(), [&](absl::Span<const int64_t> idx) {
    std::memcpy(dst + o * w, src + src_linear(idx) * w, w);
    ++o;
  });
  return out;
}

int64_t ClampStart(const Literal& index, int64_t operand_size, int64_t slice_size) {
  int64_t s = index.GetAsInt64(0);
  return std::clamp<int64_t>(s, 0, operand_size - slice_size);
}

}  // namespace

absl::StatusOr<Literal> EvalDataMovement(const hlo::Instruction& instr, Operands ops) {
  const hlo::Shape& shape = instr.shape();
  switch (instr.opcode()) {
    case Opcode::kIota: {
      Literal out(shape);
      int64_t dim = instr.dimensions(0);
      int64_t i = 0;
      ForEachIndex(shape.dimensions(), [&](absl::Span<const int64_t> idx) {
        out.SetFromDouble(i++, static_cast<double>(idx[dim]));
      });
      return out;
    }
    case Opcode::kReshape:
    case Opcode::kBitcast: {
      Literal out(shape);
      if (out.size_bytes() > 0) std::memcpy(Bytes(out), Bytes(*ops[0]), out.size_bytes());
      return out;
    }
    case Opcode::kBroadcast: {
      const Literal& in = *ops[0];
      std::vector<int64_t> strides = ShapeUtil::RowMajorStrides(in.shape().dimensions());
      const std::vector<int64_t>& map = instr.dimensions();
      return Gather(shape, in, [&](absl::Span<const int64_t> idx) {
        int64_t s = 0;
        for (size_t i = 0; i < map.size(); ++i) s += idx[map[i]] * strides[i];
        return s;
      });
    }
    case Opcode::kTranspose: {
      const Literal& in = *ops[0];
      std::vector<int64_t> strides = ShapeUtil::RowMajorStrides(in.shape().dimensions());
      const std::vector<int64_t>& perm = instr.dimensions();
      return Gather(shape, in, [&](absl::Span<const int64_t> idx) {
        int64_t s = 0;
        for (size_t i = 0; i < perm.size(); ++i) s += idx[i] * strides[perm[i]];
        return s;
      });
    }
    case Opcode::kSlice: {
      const Literal& in = *ops[0];
      std::vector<int64_t> strides = ShapeUtil::RowMajorStrides(in.shape().dimensions());
      return Gather(shape, in, [&](absl::Span<const int64_t> idx) {
        int64_t s = 0;
        for (size_t i = 0; i < idx.size(); ++i) {
          s += (instr.slice_starts()[i] + idx[i] * instr.slice_strides()[i]) * strides[i];
        }
        return s;
      });
    }
    case Opcode::kReverse: {
      const Literal& in = *ops[0];
      std::vector<int64_t> strides = ShapeUtil::RowMajorStrides(in.shape().dimensions());
      std::vector<bool> rev(shape.rank(), false);
      for (int64_t d : instr.dimensions()) rev[d] = true;
      return Gather(shape, in, [&](absl::Span<const int64_t> idx) {
        int64_t s = 0;
        for (size_t i = 0; i < idx.size(); ++i) {
          s += (rev[i] ? shape.dimensions(i) - 1 - idx[i] : idx[i]) * strides[i];
        }
        return s;
      });
    }
    case Opcode::kDynamicSlice: {
      const Literal& in = *ops[0];
      std::vector<int64_t> strides = ShapeUtil::RowMajorStrides(in.shape().dimensions());
      std::vector<int64_t> start(shape.rank());
      for (int64_t i = 0; i < shape.rank(); ++i) {
        start[i] = ClampStart(*ops[1 + i], in.shape().dimensions(i), instr.slice_sizes()[i]);
      }
      return Gather(shape, in, [&](absl::Span<const int64_t> idx) {
        int64_t s = 0;
        for (size_t i = 0; i < idx.size(); ++i) s += (start[i] + idx[i]) * strides[i];
        return s;
      });
    }
    case Opcode::kDynamicUpdateSlice: {
      Literal out = *ops[0];
      const Literal& upd = *ops[1];
      int64_t w = hlo::ByteWidth(shape.element_type());
      std::vector<int64_t> strides = ShapeUtil::RowMajorStrides(shape.dimensions());
      std::vector<int64_t> start(shape.rank());
      for (int64_t i = 0; i < shape.rank(); ++i) {
        start[i] = ClampStart(*ops[2 + i], shape.dimensions(i), upd.shape().dimensions(i));
      }
      int64_t u = 0;
      ForEachIndex(upd.shape().dimensions(), [&](absl::Span<const int64_t> idx) {
        int64_t d = 0;
        for (size_t i = 0; i < idx.size(); ++i) d += (start[i] + idx[i]) * strides[i];
        std::memcpy(Bytes(out) + d * w, Bytes(upd) + u * w, w);
        ++u;
      });
      return out;
    }
    case Opcode::kConcatenate: {
      Literal out(shape);
      int64_t dim = instr.dimensions(0);
      int64_t w = hlo::ByteWidth(shape.element_type());
      // Rows: the product of dimensions before `dim`; each operand contributes a contiguous chunk
      // per row.
      int64_t rows = 1;
      for (int64_t i = 0; i < dim; ++i) rows *= shape.dimensions(i);
      int64_t out_row = ShapeUtil::ElementsIn(shape) / std::max<int64_t>(rows, 1) * w;
      if (rows == 0 || out_row == 0) return out;
      int64_t offset = 0;
      for (const Literal* op : ops) {
        int64_t chunk = ShapeUtil::ElementsIn(op->shape()) / rows * w;
        for (int64_t r = 0; r < rows; ++r) {
          std::memcpy(Bytes(out) + r * out_row + offset, Bytes(*op) + r * chunk, chunk);
        }
        offset += chunk;
      }
      return out;
    }
    case Opcode::kPad: {
      const Literal& in = *ops[0];
      Literal out(shape);
      int64_t w = hlo::ByteWidth(shape.element_type());
      int64_t n = ShapeUtil::ElementsIn(shape);
      for (int64_t i = 0; i < n; ++i) std::memcpy(Bytes(out) + i * w, Bytes(*ops[1]), w);
      std::vector<int64_t> out_strides = ShapeUtil::RowMajorStrides(shape.dimensions());
      int64_t s = 0;
      const hlo::PaddingConfig& pc = instr.padding_config();
      ForEachIndex(in.shape().dimensions(), [&](absl::Span<const int64_t> idx) {
        int64_t d = 0;
        bool inside = true;
        for (size_t i = 0; i < idx.size(); ++i) {
          int64_t pos = pc[i].edge_padding_low + idx[i] * (pc[i].interior_padding + 1);
          if (pos < 0 || pos >= shape.dimensions(i)) {
            inside = false;
            break;
          }
          d += pos * out_strides[i];
        }
        if (inside) std::memcpy(Bytes(out) + d * w, Bytes(in) + s * w, w);
        ++s;
      });
      return out;
    }
    default:
      return absl::InternalError(
          kiln::StrCat("EvalDataMovement: unexpected ", hlo::OpcodeString(instr.opcode())));
  }
}

}  // namespace kiln::hlo::evaluator
