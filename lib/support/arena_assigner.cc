#include "kiln/support/arena_assigner.h"

#include <algorithm>
#include <numeric>

namespace kiln {

std::vector<int64_t> AssignOffsetsGreedyBySize(const std::vector<int64_t>& sizes,
                                               const std::function<bool(int, int)>& conflict,
                                               int64_t alignment, int64_t* total) {
  const int n = static_cast<int>(sizes.size());
  auto aligned = [alignment](int64_t v) { return (v + alignment - 1) / alignment * alignment; };
  std::vector<int> by_size(n);
  std::iota(by_size.begin(), by_size.end(), 0);
  std::sort(by_size.begin(), by_size.end(),
            [&](int a, int b) { return sizes[a] != sizes[b] ? sizes[a] > sizes[b] : a < b; });

  std::vector<int64_t> offsets(n, 0);
  std::vector<int> placed;  // Kept sorted by offset.
  std::vector<int> neighbours;
  int64_t arena = 0;
  for (int i : by_size) {
    const int64_t size = aligned(sizes[i]);
    neighbours.clear();
    for (int j : placed) {
      if (conflict(i, j)) neighbours.push_back(j);
    }
    // Smallest gap between conflicting buffers (in offset order) that holds `size`.
    int64_t best = -1, best_gap = 0, end = 0;
    for (int j : neighbours) {
      const int64_t gap = offsets[j] - end;
      if (gap >= size && (best < 0 || gap < best_gap)) {
        best = end;
        best_gap = gap;
      }
      end = std::max(end, aligned(offsets[j] + sizes[j]));
    }
    offsets[i] = best >= 0 ? best : end;
    arena = std::max(arena, offsets[i] + size);
    auto pos = std::upper_bound(placed.begin(), placed.end(), i,
                                [&](int a, int b) { return offsets[a] < offsets[b]; });
    placed.insert(pos, i);
  }
  *total = arena;
  return offsets;
}

}  // namespace kiln
