// Ops on the bits of integer tensors: BitwiseAnd, BitwiseOr, BitwiseXor, BitwiseNot, BitShift, and
// BitCast (the bits of any tensor reinterpreted as another type of the same size).
#include <cstring>
#include <type_traits>

#include "kiln/support/strings.h"
#include "runtime/kernels/kernel_util.h"

namespace kiln::kernels {
namespace {

// Calls fn(out_index, a_offset, b_offset) for every element of the broadcast of a and b.
template <typename Fn>
void ForEachBroadcast(const Dims& a, const Dims& b, const Dims& out, Fn&& fn) {
  const std::vector<int64_t> sa = BroadcastStrides(a, out), sb = BroadcastStrides(b, out);
  const int64_t n = NumElements(out);
  std::vector<int64_t> idx(out.size(), 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, oa, ob);
    for (int d = static_cast<int>(out.size()) - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (out[d] - 1);
      ob -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

template <typename Fn>
absl::Status DispatchInt(DType dtype, const std::string& what, Fn&& fn) {
  switch (dtype) {
    case DType::kS8: return fn(int8_t{});
    case DType::kU8: return fn(uint8_t{});
    case DType::kS16: return fn(int16_t{});
    case DType::kU16: return fn(uint16_t{});
    case DType::kS32: return fn(int32_t{});
    case DType::kU32: return fn(uint32_t{});
    case DType::kS64: return fn(int64_t{});
    case DType::kU64: return fn(uint64_t{});
    default:
      return absl::UnimplementedError(kiln::StrCat(what, ": element type ", DTypeName(dtype), " is not supported"));
  }
}

absl::Status SameTypeBroadcastShape(InferenceContext& ctx, bool int_only) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if (a.dtype != b.dtype) return ctx.Error(kiln::StrCat("inputs must share one type; got ", a.ToString(), " and ", b.ToString()));
  if (int_only && !IsIntType(a.dtype)) return ctx.Error(kiln::StrCat("inputs must be integers; got ", a.ToString()));
  if (!a.rank_known || !b.rank_known) {
    ctx.set_output(0, UnknownRank(a.dtype));
    return absl::OkStatus();
  }
  absl::StatusOr<Dims> d = BroadcastDims(a.dims, b.dims);
  if (!d.ok()) return ctx.Error(FromAbsl(d.status().message()));
  ctx.set_output(0, TensorType{a.dtype, *d});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Bitwise ops and BitShift.

enum class BitKind { kAnd, kOr, kXor, kShift };

absl::Status BitwiseCompute(KernelContext& ctx, BitKind kind) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(Dims od, BroadcastDims(a.dims(), b.dims()));
  if (a.dtype() != b.dtype()) return ctx.Error("inputs must share one type");
  bool left = true;
  if (kind == BitKind::kShift) {
    KILN_ASSIGN_OR_RETURN(std::string dir, ctx.node().GetString("direction"));
    if (dir != "LEFT" && dir != "RIGHT") return ctx.Error("direction must be LEFT or RIGHT");
    left = dir == "LEFT";
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, a.dtype(), od));
  return DispatchInt(a.dtype(), ctx.node().op, [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    using U = std::make_unsigned_t<T>;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* py = y->data<T>();
    constexpr int bits = 8 * sizeof(T);
    ForEachBroadcast(a.dims(), b.dims(), od, [&](int64_t i, int64_t ia, int64_t ib) {
      const U x = static_cast<U>(pa[ia]), s = static_cast<U>(pb[ib]);
      U r = 0;
      switch (kind) {
        case BitKind::kAnd: r = x & s; break;
        case BitKind::kOr: r = x | s; break;
        case BitKind::kXor: r = x ^ s; break;
        case BitKind::kShift:
          r = s >= static_cast<U>(bits) ? U(0) : (left ? static_cast<U>(x << s) : static_cast<U>(x >> s));
          break;
      }
      py[i] = static_cast<T>(r);
    });
    return absl::OkStatus();
  });
}

absl::Status BitwiseNotCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
  return DispatchInt(x.dtype(), "BitwiseNot", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    for (int64_t i = 0; i < x.num_elements(); ++i) y->data<T>()[i] = static_cast<T>(~x.data<T>()[i]);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// BitCast(input; to): reinterprets the bits as another type of the same size.

absl::Status BitCastShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(DType to, OutputDataType(ctx.node(), "to", 1));
  if (DTypeSize(to) != DTypeSize(x.dtype)) {
    return Unsupported(ctx.node(), kiln::StrCat("a bit cast between types of different sizes (", DTypeName(x.dtype),
                                                " to ", DTypeName(to), ")"));
  }
  ctx.set_output(0, TensorType{to, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status BitCastCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(DType to, OutputDataType(ctx.node(), "to", 1));
  if (DTypeSize(to) != DTypeSize(x.dtype())) return Unsupported(ctx.node(), "a bit cast between types of different sizes");
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, to, x.dims()));
  if (x.byte_size() > 0) std::memcpy(y->raw_data(), x.raw_data(), x.byte_size());
  if (to == DType::kBool) {
    uint8_t* b = static_cast<uint8_t*>(y->raw_data());
    for (int64_t i = 0; i < y->num_elements(); ++i) {
      if (b[i] > 1) return ctx.Error("bit cast to bool of a byte other than 0 or 1");
    }
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterBitwiseOps(OpRegistry& registry) {
  auto bit = [](BitKind k) { return [k](KernelContext& ctx) { return BitwiseCompute(ctx, k); }; };
  auto int_bcast = [](InferenceContext& ctx) { return SameTypeBroadcastShape(ctx, true); };
  AddOp(registry, StatelessOpDef("BitwiseAnd", 2, 2, int_bcast, bit(BitKind::kAnd)));
  AddOp(registry, StatelessOpDef("BitwiseOr", 2, 2, int_bcast, bit(BitKind::kOr)));
  AddOp(registry, StatelessOpDef("BitwiseXor", 2, 2, int_bcast, bit(BitKind::kXor)));
  AddOp(registry, StatelessOpDef("BitShift", 2, 2, int_bcast, bit(BitKind::kShift)));
  AddOp(registry, StatelessOpDef("BitwiseNot", 1, 1, [](InferenceContext& ctx) -> absl::Status {
    if (!IsIntType(ctx.input(0).dtype)) return ctx.Error("input must be an integer tensor");
    return SameAsInput(ctx);
  }, BitwiseNotCompute));
  AddOp(registry, StatelessOpDef("BitCast", 1, 1, BitCastShape, BitCastCompute));
}

}  // namespace kiln::kernels
