#include "kiln/tensor/tensor.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>

#include "kiln/support/build_config.h"
#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"

namespace kiln {

float HalfToFloat(Half h) {
  uint32_t sign = (h.bits & 0x8000u) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1f;
  uint32_t mant = h.bits & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // Subnormal: normalise.
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Half FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN.
    return Half{static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0))};
  }
  if (abs >= 0x477ff000u) return Half{static_cast<uint16_t>(sign | 0x7c00u)};  // Overflow.
  if (abs < 0x38800000u) {                                                        // Subnormal half.
    if (abs < 0x33000000u) return Half{static_cast<uint16_t>(sign)};
    uint32_t exp = abs >> 23;
    uint32_t mant = (abs & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - exp;  // value = mant * 2^(exp - 150) = result * 2^-24
    uint32_t result = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (result & 1))) ++result;
    return Half{static_cast<uint16_t>(sign | result)};
  }
  uint32_t result = ((abs - 0x38000000u) >> 13);
  uint32_t rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (result & 1))) ++result;
  return Half{static_cast<uint16_t>(sign | result)};
}

float BFloat16ToFloat(BFloat16 b) {
  uint32_t bits = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

BFloat16 FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return BFloat16{static_cast<uint16_t>((x >> 16) | 0x40)};
  uint32_t rounding = 0x7fff + ((x >> 16) & 1);
  return BFloat16{static_cast<uint16_t>((x + rounding) >> 16)};
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32: case DType::kS32: return 4;
    case DType::kF16: case DType::kBF16: return 2;
    case DType::kS8: case DType::kU8: case DType::kBool: return 1;
    case DType::kS64: case DType::kF64: case DType::kU64: return 8;
    case DType::kS16: case DType::kU16: return 2;
    case DType::kU32: return 4;
    case DType::kInvalid: return 0;
  }
  return 0;
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kS8: return "s8";
    case DType::kU8: return "u8";
    case DType::kS32: return "s32";
    case DType::kS64: return "s64";
    case DType::kBool: return "bool";
    case DType::kF64: return "f64";
    case DType::kS16: return "s16";
    case DType::kU16: return "u16";
    case DType::kU32: return "u32";
    case DType::kU64: return "u64";
    case DType::kInvalid: return "invalid";
  }
  return "invalid";
}

int64_t NumElements(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

std::string DimsToString(const Dims& dims) { return kiln::StrCat("[", absl::StrJoin(dims, ","), "]"); }

namespace {

size_t RoundedBytes(size_t bytes) {
  const size_t rounded = (bytes + Buffer::kAlignment - 1) / Buffer::kAlignment * Buffer::kAlignment;
  return rounded == 0 ? Buffer::kAlignment : rounded;
}

// Freed blocks of 256 KiB or more wait here (256 MiB in all at most) for the next allocation of the
// same rounded size: a model's outputs and the buffers outside the executor's arena are allocated
// again on every run, and a fresh block of that size would come from the system zeroed page by page.
// Sanitizer builds keep none (a reused block would hide a use after free).
#ifdef KILN_SANITIZER_BUILD
constexpr size_t kMaxCachedBytes = 0;
#else
constexpr size_t kMaxCachedBytes = size_t{256} << 20;
#endif
constexpr size_t kMinCachedBytes = size_t{256} << 10;

class BlockCache {
 public:
  static BlockCache& Get() {
    static BlockCache* cache = new BlockCache;  // never destroyed: buffers may outlive static destruction
    return *cache;
  }
  void* Take(size_t rounded) {
    if (rounded < kMinCachedBytes || kMaxCachedBytes == 0) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(rounded);
    if (it == blocks_.end()) return nullptr;
    void* p = it->second;
    blocks_.erase(it);
    held_ -= rounded;
    return p;
  }
  // Keeps `p` or frees it.
  void Give(void* p, size_t rounded) {
    if (rounded >= kMinCachedBytes && rounded <= kMaxCachedBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_ + rounded <= kMaxCachedBytes) {
        blocks_.emplace(rounded, p);
        held_ += rounded;
        return;
      }
    }
    std::free(p);
  }

 private:
  std::mutex mu_;
  std::multimap<size_t, void*> blocks_;
  size_t held_ = 0;
};

}  // namespace

absl::StatusOr<std::shared_ptr<Buffer>> Buffer::Allocate(size_t bytes) {
  const size_t rounded = RoundedBytes(bytes);
  void* p = BlockCache::Get().Take(rounded);
  if (p == nullptr) p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) {
    return absl::ResourceExhaustedError(kiln::StrCat("cannot allocate ", bytes, " bytes"));
  }
  return std::shared_ptr<Buffer>(new Buffer(p, bytes));
}

Buffer::~Buffer() { BlockCache::Get().Give(data_, RoundedBytes(size_)); }

namespace {
constexpr int64_t kMaxTensorBytes = int64_t{16} << 30;
}

namespace {
#ifdef KILN_SANITIZER_BUILD
std::atomic<bool> poison_uninitialized{true};
#else
std::atomic<bool> poison_uninitialized{false};
#endif
}  // namespace

void SetPoisonUninitialized(bool on) { poison_uninitialized.store(on, std::memory_order_relaxed); }
bool PoisonUninitialized() { return poison_uninitialized.load(std::memory_order_relaxed); }
void MaybePoison(void* data, size_t bytes) {
  if (PoisonUninitialized() && bytes > 0) std::memset(data, 0xFF, bytes);
}

absl::StatusOr<Tensor> Tensor::Create(DType dtype, Dims dims) {
  absl::StatusOr<Tensor> t = CreateUninitialized(dtype, std::move(dims));
  if (t.ok() && t->byte_size() > 0) std::memset(t->raw_data(), 0, t->byte_size());
  return t;
}

absl::StatusOr<Tensor> Tensor::CreateUninitialized(DType dtype, Dims dims) {
  if (dtype == DType::kInvalid) return absl::InvalidArgumentError("tensor of invalid dtype");
  int64_t n = NumElements(dims);
  if (n < 0) {
    return absl::InvalidArgumentError(kiln::StrCat("invalid tensor dims ", DimsToString(dims)));
  }
  if (n > kMaxTensorBytes / static_cast<int64_t>(DTypeSize(dtype))) {
    return absl::ResourceExhaustedError(kiln::StrCat("tensor ", DTypeName(dtype), DimsToString(dims),
                                                     " exceeds the 16 GiB tensor limit"));
  }
  size_t bytes = static_cast<size_t>(n) * DTypeSize(dtype);
  absl::StatusOr<std::shared_ptr<Buffer>> buffer = Buffer::Allocate(bytes);
  if (!buffer.ok()) return buffer.status();
  MaybePoison((*buffer)->data(), bytes);
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.num_elements_ = n;
  t.buffer_ = *std::move(buffer);
  return t;
}

absl::StatusOr<Tensor> Tensor::FromBuffer(DType dtype, Dims dims, std::shared_ptr<Buffer> buffer,
                                          size_t offset) {
  int64_t n = NumElements(dims);
  if (n < 0 || buffer == nullptr ||
      offset + static_cast<size_t>(n) * DTypeSize(dtype) > buffer->size()) {
    return absl::InvalidArgumentError(kiln::StrCat("buffer too small for ", DTypeName(dtype),
                                                   DimsToString(dims)));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.num_elements_ = n;
  t.buffer_ = std::move(buffer);
  t.offset_ = offset;
  return t;
}

absl::StatusOr<Tensor> Tensor::Reshaped(Dims dims) const {
  int64_t n = NumElements(dims);
  if (n != num_elements()) {
    return absl::InvalidArgumentError(kiln::StrCat("cannot reshape ", TypeString(), " to ",
                                                   DimsToString(dims)));
  }
  Tensor t = *this;
  t.dims_ = std::move(dims);
  t.num_elements_ = n;
  return t;
}

Tensor Tensor::Clone() const {
  if (!valid()) return Tensor();
  Tensor t = *Create(dtype_, dims_);
  if (byte_size() > 0) std::memcpy(t.raw_data(), raw_data(), byte_size());
  return t;
}

double Tensor::GetAsDouble(int64_t i) const {
  switch (dtype_) {
    case DType::kF32: return data<float>()[i];
    case DType::kF16: return HalfToFloat(data<Half>()[i]);
    case DType::kBF16: return BFloat16ToFloat(data<BFloat16>()[i]);
    case DType::kS8: return data<int8_t>()[i];
    case DType::kU8: return data<uint8_t>()[i];
    case DType::kS32: return data<int32_t>()[i];
    case DType::kS64: return static_cast<double>(data<int64_t>()[i]);
    case DType::kBool: return data<bool>()[i] ? 1.0 : 0.0;
    case DType::kF64: return data<double>()[i];
    case DType::kS16: return data<int16_t>()[i];
    case DType::kU16: return data<uint16_t>()[i];
    case DType::kU32: return data<uint32_t>()[i];
    case DType::kU64: return static_cast<double>(data<uint64_t>()[i]);
    case DType::kInvalid: return 0;
  }
  return 0;
}

int64_t Tensor::GetAsInt64(int64_t i) const {
  switch (dtype_) {
    case DType::kS64: return data<int64_t>()[i];
    case DType::kS32: return data<int32_t>()[i];
    case DType::kS8: return data<int8_t>()[i];
    case DType::kU8: return data<uint8_t>()[i];
    case DType::kBool: return data<bool>()[i] ? 1 : 0;
    case DType::kS16: return data<int16_t>()[i];
    case DType::kU16: return data<uint16_t>()[i];
    case DType::kU32: return data<uint32_t>()[i];
    case DType::kU64: return static_cast<int64_t>(data<uint64_t>()[i]);  // Wraps above 2^63 - 1.
    default: {
      // Shape inputs and attributes may hold any float.
      return SaturatingCast<int64_t>(GetAsDouble(i));
    }
  }
}

bool Tensor::BitEqual(const Tensor& other) const {
  if (dtype_ != other.dtype_ || dims_ != other.dims_) return false;
  return byte_size() == 0 || std::memcmp(raw_data(), other.raw_data(), byte_size()) == 0;
}

std::string Tensor::TypeString() const { return kiln::StrCat(DTypeName(dtype_), DimsToString(dims_)); }

}  // namespace kiln
