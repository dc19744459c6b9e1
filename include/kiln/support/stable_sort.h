// A stable merge sort of a vector, used where Kiln must sort stably: TopK's ties and HLO's sort with a
// user comparator. It never reads out of range, even when the comparator is not a strict weak order (NaNs,
// or an arbitrary HLO comparator), where std::sort may. It also avoids std::stable_sort, whose
// libstdc++ 12 implementation uses std::get_temporary_buffer, which clang 19 reports as deprecated.
#ifndef KILN_SUPPORT_STABLE_SORT_H_
#define KILN_SUPPORT_STABLE_SORT_H_

#include <cstddef>
#include <vector>

namespace kiln {

// Sorts `v` so that less(v[i+1], v[i]) is false for every i when `less` is a strict weak order; equal
// elements keep their order. O(n log n) comparisons, one buffer of n elements.
template <typename T, typename Less>
void StableSort(std::vector<T>& v, Less less) {
  const size_t n = v.size();
  std::vector<T> buffer(n);
  // Bottom-up: merge runs of width 1, 2, 4, ... from `v` into `buffer`, then swap the roles.
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      const size_t mid = lo + width < n ? lo + width : n;
      const size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t a = lo, b = mid, out = lo;
      while (a < mid && b < hi) buffer[out++] = less(v[b], v[a]) ? v[b++] : v[a++];
      while (a < mid) buffer[out++] = v[a++];
      while (b < hi) buffer[out++] = v[b++];
    }
    v.swap(buffer);
  }
}

}  // namespace kiln

#endif  // KILN_SUPPORT_STABLE_SORT_H_
