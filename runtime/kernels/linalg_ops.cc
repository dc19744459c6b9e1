// Linear algebra: Det (LU with partial pivoting) and Einsum (explicit and implicit equations,
// "..." broadcast), computed in double (integers in wrapping int64).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// Det(X): determinants of the trailing square matrices (LU with partial pivoting in double).

absl::Status DetShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype)) return ctx.Error("input must be float");
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  if (x.dims.size() < 2) return ctx.Error("input must have rank 2 or more");
  ctx.set_output(0, TensorType{x.dtype, Dims(x.dims.begin(), x.dims.end() - 2)});
  return absl::OkStatus();
}

absl::Status DetCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.Error("input must have rank 2 or more");
  const int64_t n = x.dims().back();
  if (x.dims()[x.rank() - 2] != n) return ctx.Error("matrices must be square");
  const Dims od(x.dims().begin(), x.dims().end() - 2);
  const int64_t batch = NumElements(od);
  const std::vector<double> v = ReadDoubles(x);
  std::vector<double> out(batch);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> a(v.begin() + b * n * n, v.begin() + (b + 1) * n * n);
    double det = 1;
    for (int64_t col = 0; col < n; ++col) {
      int64_t piv = col;
      for (int64_t r = col + 1; r < n; ++r) {
        if (std::fabs(a[r * n + col]) > std::fabs(a[piv * n + col])) piv = r;
      }
      if (a[piv * n + col] == 0) {
        det = 0;
        break;
      }
      if (piv != col) {
        for (int64_t k = 0; k < n; ++k) std::swap(a[piv * n + k], a[col * n + k]);
        det = -det;
      }
      det *= a[col * n + col];
      for (int64_t r = col + 1; r < n; ++r) {
        const double f = a[r * n + col] / a[col * n + col];
        for (int64_t k = col; k < n; ++k) a[r * n + k] -= f * a[col * n + k];
      }
    }
    out[b] = det;
  }
  return WriteDoubles(ctx, 0, x.dtype(), od, out);
}

// ---------------------------------------------------------------------------------------------
// Einsum(inputs...; equation): explicit ("ij,jk->ik") or implicit form, with "..." broadcast.

struct EinsumPlan {
  std::vector<std::vector<int>> in_labels;  // Per input, a label id per dimension.
  std::vector<int> out_labels;
  std::vector<int64_t> extent;  // Per label id.
};

absl::StatusOr<EinsumPlan> PlanEinsum(const std::string& equation, const std::vector<Dims>& shapes) {
  std::string eq;
  for (char ch : equation) if (ch != ' ') eq += ch;
  const size_t arrow = eq.find("->");
  const std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  std::vector<std::string> terms;
  size_t startp = 0;
  while (true) {
    size_t comma = lhs.find(',', startp);
    terms.push_back(lhs.substr(startp, comma == std::string::npos ? std::string::npos : comma - startp));
    if (comma == std::string::npos) break;
    startp = comma + 1;
  }
  if (terms.size() != shapes.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("equation has ", terms.size(), " operands for ", shapes.size(), " inputs"));
  }
  EinsumPlan p;
  std::map<char, int> ids;
  auto id_of = [&](char ch) {
    auto it = ids.find(ch);
    if (it != ids.end()) return it->second;
    const int id = static_cast<int>(p.extent.size());
    ids[ch] = id;
    p.extent.push_back(1);
    return id;
  };
  // Ellipsis dimensions get ids 0..E-1 (right-aligned across inputs).
  int64_t ell_rank = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const size_t dots = terms[i].find("...");
    if (dots != std::string::npos) {
      const int64_t letters = static_cast<int64_t>(terms[i].size()) - 3;
      ell_rank = std::max(ell_rank, static_cast<int64_t>(shapes[i].size()) - letters);
    }
  }
  for (int64_t e = 0; e < ell_rank; ++e) p.extent.push_back(1);
  for (size_t i = 0; i < terms.size(); ++i) {
    const std::string& t = terms[i];
    const size_t dots = t.find("...");
    std::vector<int> labels;
    const int64_t letters = static_cast<int64_t>(t.size()) - (dots == std::string::npos ? 0 : 3);
    const int64_t my_ell = static_cast<int64_t>(shapes[i].size()) - letters;
    if (dots == std::string::npos && my_ell != 0) {
      return absl::InvalidArgumentError(kiln::StrCat("operand ", i, " '", t, "' does not match rank ", shapes[i].size()));
    }
    if (my_ell < 0) return absl::InvalidArgumentError(kiln::StrCat("operand ", i, " has too many labels"));
    for (size_t k = 0; k < t.size(); ++k) {
      if (k == dots) {
        for (int64_t e = 0; e < my_ell; ++e) labels.push_back(static_cast<int>(ell_rank - my_ell + e));
        k += 2;
        continue;
      }
      if (!std::isalpha(static_cast<unsigned char>(t[k]))) {
        return absl::InvalidArgumentError(kiln::StrCat("bad character '", std::string(1, t[k]), "' in the equation"));
      }
      labels.push_back(id_of(t[k]));
    }
    for (size_t k = 0; k < labels.size(); ++k) {
      const int64_t dim = shapes[i][k];
      int64_t& ext = p.extent[labels[k]];
      if (ext == 1) {
        ext = dim;
      } else if (dim != 1 && dim != ext) {
        return absl::InvalidArgumentError(kiln::StrCat("label extents ", ext, " and ", dim, " differ"));
      }
    }
    p.in_labels.push_back(labels);
  }
  if (arrow != std::string::npos) {
    const std::string rhs = eq.substr(arrow + 2);
    const size_t dots = rhs.find("...");
    for (size_t k = 0; k < rhs.size(); ++k) {
      if (k == dots) {
        for (int64_t e = 0; e < ell_rank; ++e) p.out_labels.push_back(static_cast<int>(e));
        k += 2;
        continue;
      }
      auto it = ids.find(rhs[k]);
      if (it == ids.end()) return absl::InvalidArgumentError(kiln::StrCat("output label '", std::string(1, rhs[k]), "' is not an input label"));
      p.out_labels.push_back(it->second);
    }
  } else {
    for (int64_t e = 0; e < ell_rank; ++e) p.out_labels.push_back(static_cast<int>(e));
    std::map<char, int> count;
    for (const std::string& t : terms) for (char ch : t) if (ch != '.') ++count[ch];
    for (const auto& [ch, n] : count) if (n == 1) p.out_labels.push_back(ids[ch]);
  }
  return p;
}

absl::Status EinsumShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string eq, ctx.node().GetString("equation"));
  const DType dt = ctx.input(0).dtype;
  std::vector<Dims> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.input(i).fully_defined()) {
      ctx.set_output(0, UnknownRank(dt));
      return absl::OkStatus();
    }
    if (ctx.input(i).dtype != dt) return ctx.Error("inputs must share one type");
    shapes.push_back(ctx.input(i).dims);
  }
  absl::StatusOr<EinsumPlan> p = PlanEinsum(eq, shapes);
  if (!p.ok()) return ctx.Error(FromAbsl(p.status().message()));
  Dims od;
  for (int l : p->out_labels) od.push_back(p->extent[l]);
  ctx.set_output(0, TensorType{dt, od});
  return absl::OkStatus();
}

absl::Status EinsumCompute(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string eq, ctx.node().GetString("equation"));
  std::vector<Dims> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) shapes.push_back(ctx.input(i).dims());
  absl::StatusOr<EinsumPlan> ps = PlanEinsum(eq, shapes);
  if (!ps.ok()) return ctx.Error(FromAbsl(ps.status().message()));
  const EinsumPlan& p = *ps;
  const DType dt = ctx.input(0).dtype();
  const bool is_float = IsAnyFloat(dt);
  // Loop over output labels, then the summed labels.
  std::vector<int> loop = p.out_labels;
  std::vector<bool> in_out(p.extent.size(), false);
  for (int l : p.out_labels) in_out[l] = true;
  for (const auto& labels : p.in_labels)
    for (int l : labels)
      if (!in_out[l] && std::find(loop.begin(), loop.end(), l) == loop.end()) loop.push_back(l);
  Dims loop_dims;
  for (int l : loop) loop_dims.push_back(p.extent[l]);
  Dims od;
  for (int l : p.out_labels) od.push_back(p.extent[l]);
  const int64_t out_n = NumElements(od), total = NumElements(loop_dims);
  std::vector<double> accf(out_n, 0.0);
  std::vector<int64_t> acci(out_n, 0);
  std::vector<std::vector<int64_t>> strides;
  for (int i = 0; i < ctx.num_inputs(); ++i) strides.push_back(Strides(shapes[i]));
  std::vector<int64_t> idx(loop.size(), 0), val(p.extent.size(), 0);
  const std::vector<int64_t> ostr = Strides(od);
  for (int64_t it = 0; it < total; ++it) {
    for (size_t k = 0; k < loop.size(); ++k) val[loop[k]] = idx[k];
    int64_t o = 0;
    for (size_t k = 0; k < p.out_labels.size(); ++k) o += val[p.out_labels[k]] * ostr[k];
    double pf = 1;
    int64_t pi = 1;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      int64_t off = 0;
      for (size_t k = 0; k < p.in_labels[i].size(); ++k) {
        off += (shapes[i][k] == 1 ? 0 : val[p.in_labels[i][k]]) * strides[i][k];
      }
      if (is_float) pf *= ctx.input(i).GetAsDouble(off);
      else pi = WrapMul<int64_t>(pi, ctx.input(i).GetAsInt64(off));
    }
    if (is_float) accf[o] += pf;
    else acci[o] = WrapAdd<int64_t>(acci[o], pi);
    NextIndex(idx, loop_dims);
  }
  if (!is_float) {
    for (int64_t i = 0; i < out_n; ++i) accf[i] = static_cast<double>(acci[i]);
    if (dt == DType::kS64 || dt == DType::kU64) {
      KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, dt, od));
      for (int64_t i = 0; i < out_n; ++i) y->data<int64_t>()[i] = acci[i];
      return absl::OkStatus();
    }
  }
  return WriteDoubles(ctx, 0, dt, od, accf);
}

}  // namespace

void RegisterLinalgOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("Det", 1, 1, DetShape, DetCompute));
  AddOp(registry, StatelessOpDef("Einsum", 1, -1, EinsumShape, EinsumCompute));
}

}  // namespace kiln::kernels
