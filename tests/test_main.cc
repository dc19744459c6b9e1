// The main() of every test executable: gtest's, with the poison pattern on for memory that kernels
// receive uninitialized (Tensor::CreateUninitialized, the executor's planned outputs), so that a
// kernel that leaves part of its output unwritten fails its tests instead of passing on zeros.
#include "gtest/gtest.h"
#include "kiln/tensor/tensor.h"

int main(int argc, char** argv) {
  kiln::SetPoisonUninitialized(true);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
