// StableSort against a reference: std::sort of (key, original position) pairs, which is the stable
// order by construction.
#include "kiln/support/stable_sort.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(StableSortTest, MatchesTheStableOrderOnRandomKeysWithTies) {
  std::mt19937 rng(7);
  for (int n : {0, 1, 2, 3, 7, 8, 9, 100, 1000}) {
    std::vector<int> keys(n);
    for (int& k : keys) k = static_cast<int>(rng() % 5);  // Many ties.
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    StableSort(order, [&](int a, int b) { return keys[a] < keys[b]; });
    std::vector<std::pair<int, int>> reference;
    for (int i = 0; i < n; ++i) reference.push_back({keys[i], i});
    std::sort(reference.begin(), reference.end());
    for (int i = 0; i < n; ++i) EXPECT_EQ(order[i], reference[i].second) << "n=" << n << " i=" << i;
  }
}

TEST(StableSortTest, AComparatorThatIsNoOrderStillGivesAPermutation) {
  // NaN compares false both ways with everything; an always-true comparator is no order at all.
  std::vector<float> values = {3, std::numeric_limits<float>::quiet_NaN(), 1, 2, std::numeric_limits<float>::quiet_NaN(), 0};
  std::vector<int> order = {0, 1, 2, 3, 4, 5};
  StableSort(order, [&](int a, int b) { return values[a] < values[b]; });
  std::vector<int> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  StableSort(order, [](int, int) { return true; });
  sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace kiln
