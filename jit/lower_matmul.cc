// Lowerings of the matrix products: Gemm and MatMul (numpy matmul with broadcast batch dims).
#include "jit/lower_internal.h"

#include <algorithm>
#include <cstddef>

#include "kiln/support/strings.h"
#include "kiln/support/status.h"

namespace kiln::jit::lowering {

absl::Status LowerGemm(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op a, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op bm, ctx.input(1));
  KILN_ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(float beta, node.GetFloat("beta", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t trans_a, node.GetInt("transA", 0));
  KILN_ASSIGN_OR_RETURN(int64_t trans_b, node.GetInt("transB", 0));
  if (Rank(a) != 2 || Rank(bm) != 2) return ctx.Error("Gemm needs rank-2 A and B");
  hlo::Builder& b = ctx.b();
  hlo::DotDimensionNumbers dnums;
  dnums.lhs_contracting_dimensions = {trans_a ? 0 : 1};
  dnums.rhs_contracting_dimensions = {trans_b ? 1 : 0};
  Op y = b.DotGeneral(a, bm, dnums);
  if (alpha != 1.0f) y = b.Mul(y, b.ConstantR0<float>(alpha));
  if (ctx.has_input(2) && beta != 0.0f) {
    KILN_ASSIGN_OR_RETURN(Op c, ctx.input(2));
    if (beta != 1.0f) c = b.Mul(c, b.ConstantR0<float>(beta));
    KILN_ASSIGN_OR_RETURN(auto pair, BroadcastPair(ctx, y, c));
    if (DimsOf(pair.first) != DimsOf(y)) return ctx.Error("Gemm's C does not broadcast to [M, N]");
    y = b.Add(pair.first, pair.second);
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

absl::Status LowerMatMul(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op a, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op bm, ctx.input(1));
  hlo::Builder& b = ctx.b();
  std::vector<int64_t> da = DimsOf(a), db = DimsOf(bm);
  if (da.empty() || db.empty()) return ctx.Error("MatMul operands must have rank >= 1");
  // numpy matmul: a vector operand gains a unit dim that the result drops again.
  const bool a_vector = da.size() == 1, b_vector = db.size() == 1;
  if (a_vector) {
    da.insert(da.begin(), 1);
    a = b.Reshape(a, da);
  }
  if (b_vector) {
    db.push_back(1);
    bm = b.Reshape(bm, db);
  }
  if (da[da.size() - 1] != db[db.size() - 2]) {
    return ctx.Error(kiln::StrCat("MatMul inner dims differ: ", DimsToString(da), " x ", DimsToString(db)));
  }
  const size_t nb = std::max(da.size(), db.size()) - 2;
  std::vector<int64_t> batch(nb);
  for (size_t i = 0; i < nb; ++i) {
    int64_t x = i + da.size() - 2 >= nb ? da[i + da.size() - 2 - nb] : 1;
    int64_t y = i + db.size() - 2 >= nb ? db[i + db.size() - 2 - nb] : 1;
    if (x != y && x != 1 && y != 1) return ctx.Error("MatMul batch dims do not broadcast");
    batch[i] = x == 1 ? y : x;
  }
  int64_t b_batch = 1;
  for (size_t i = 0; i + 2 < db.size(); ++i) b_batch *= db[i];
  if (b_batch == 1) {
    // The right operand is one matrix (the usual weight): fold the left operand's batch dims into
    // its rows and make one [rows, K] x [K, N] dot, rather than broadcasting the weights to every
    // batch index (which would copy them once per row block on every run).
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < da.size(); ++i) rows *= da[i];
    const int64_t k = da.back(), n = db.back();
    Op a2 = da.size() == 2 ? a : b.Reshape(a, {rows, k});
    Op b2 = db.size() == 2 ? bm : b.Reshape(bm, {k, n});
    hlo::DotDimensionNumbers dnums;
    dnums.lhs_contracting_dimensions = {1};
    dnums.rhs_contracting_dimensions = {0};
    Op y = b.DotGeneral(a2, b2, dnums);
    std::vector<int64_t> out = batch;
    if (!a_vector) out.push_back(da[da.size() - 2]);
    if (!b_vector) out.push_back(n);
    if (out != std::vector<int64_t>{rows, n}) y = b.Reshape(y, out);
    ctx.set_output(0, y);
    return absl::OkStatus();
  }
  auto expand = [&](Op op, const std::vector<int64_t>& d) {
    std::vector<int64_t> out = batch;
    out.push_back(d[d.size() - 2]);
    out.push_back(d[d.size() - 1]);
    if (out == d) return op;
    std::vector<int64_t> mapping(d.size());
    for (size_t i = 0; i < d.size(); ++i) mapping[i] = static_cast<int64_t>(out.size() - d.size() + i);
    return b.BroadcastInDim(op, out, mapping);
  };
  a = expand(a, da);
  bm = expand(bm, db);
  hlo::DotDimensionNumbers dnums;
  for (size_t i = 0; i < nb; ++i) {
    dnums.lhs_batch_dimensions.push_back(i);
    dnums.rhs_batch_dimensions.push_back(i);
  }
  dnums.lhs_contracting_dimensions = {static_cast<int64_t>(nb + 1)};
  dnums.rhs_contracting_dimensions = {static_cast<int64_t>(nb)};
  Op y = b.DotGeneral(a, bm, dnums);
  if (a_vector || b_vector) {
    std::vector<int64_t> out = batch;
    if (!a_vector) out.push_back(da[da.size() - 2]);
    if (!b_vector) out.push_back(db[db.size() - 1]);
    y = b.Reshape(y, out);
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

}  // namespace kiln::jit::lowering
