// Float math over arrays that vectorizes for the host's widest vector ISA (one clone per ISA, picked
// at load time): what the runtime kernels use where a libm call per element would dominate.
#ifndef KILN_SUPPORT_VECTOR_MATH_H_
#define KILN_SUPPORT_VECTOR_MATH_H_

#include <cstddef>

// Put before a function definition: one clone of it per vector ISA (AVX-512, AVX2, the baseline),
// picked at load time for the host; the library itself is built for the baseline x86-64 ISA. Not in
// sanitizer builds, whose runtime the load-time resolver would run before.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define KILN_SANITIZER_BUILD 1
#endif
#endif
#if defined(__x86_64__) && defined(__clang__) && !defined(KILN_SANITIZER_BUILD)
#define KILN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KILN_VECTOR_CLONES
#endif

namespace kiln {

// x[i] = exp(x[i]). Within 2 ulp of std::exp for x in [-103.97, 88.72] (subnormal results
// included); 0 below (-inf included); +inf above; NaN stays NaN. The CPU backend's compiled exp
// computes the same.
void ExpInPlace(float* x, size_t n);

// The sum of x[i], and of (x[i] - mean)^2, accumulated in double (in 8 partial sums, combined at the
// end): the statistics of the normalizations and softmax.
double SumAsDouble(const float* x, size_t n);
double SumSquaredDeviations(const float* x, size_t n, double mean);

}  // namespace kiln

#endif  // KILN_SUPPORT_VECTOR_MATH_H_
