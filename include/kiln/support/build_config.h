// What the build is: sanitizer builds, and the per-ISA function clones the vector code uses.
#ifndef KILN_SUPPORT_BUILD_CONFIG_H_
#define KILN_SUPPORT_BUILD_CONFIG_H_

// KILN_SANITIZER_BUILD: an AddressSanitizer, ThreadSanitizer or MemorySanitizer build (GCC's and
// clang's ways of saying so).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KILN_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define KILN_SANITIZER_BUILD 1
#endif
#endif

// Put before a function definition: one clone of it per vector ISA (AVX-512, AVX2, the baseline),
// picked at load time for the host; the library itself is built for the baseline x86-64 ISA. Not in
// sanitizer builds, whose runtime the load-time resolver would run before.
#if defined(__x86_64__) && defined(__clang__) && !defined(KILN_SANITIZER_BUILD)
#define KILN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KILN_VECTOR_CLONES
#endif

#endif  // KILN_SUPPORT_BUILD_CONFIG_H_
