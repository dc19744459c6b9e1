// Spatial rearrangements of image tensors: DepthToSpace, SpaceToDepth, CenterCropPad, AffineGrid
// (the sampling grid of GridSample, resize.cc) and Col2Im.
#include <cstring>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// DepthToSpace / SpaceToDepth (blocksize; mode DCR or CRD for DepthToSpace), any element type.

absl::Status SpaceDepthShape(InferenceContext& ctx, bool to_space) {
  const TensorType& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.node().GetInt("blocksize"));
  if (bs <= 0 || bs > (int64_t{1} << 16)) return ctx.Error("blocksize must be in [1, 65536]");
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  if (x.dims.size() != 4) return ctx.Error("input must be 4-D [N, C, H, W]");
  Dims d = x.dims;
  auto mul = [](int64_t v, int64_t f) { return v < 0 ? v : SatMul(v, f); };
  auto div = [](int64_t v, int64_t f) { return v < 0 ? v : v / f; };
  if (to_space) {
    if (d[1] >= 0 && d[1] % (bs * bs)) return ctx.Error("channels must be a multiple of blocksize^2");
    d = {d[0], div(d[1], bs * bs), mul(d[2], bs), mul(d[3], bs)};
  } else {
    if ((d[2] >= 0 && d[2] % bs) || (d[3] >= 0 && d[3] % bs)) return ctx.Error("H and W must be multiples of blocksize");
    d = {d[0], mul(d[1], bs * bs), div(d[2], bs), div(d[3], bs)};
  }
  ctx.set_output(0, TensorType{x.dtype, d});
  return absl::OkStatus();
}

absl::Status SpaceDepthCompute(KernelContext& ctx, bool to_space) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.node().GetInt("blocksize"));
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.node().GetString("mode", "DCR"));
  if (x.rank() != 4 || bs <= 0 || bs > (int64_t{1} << 16)) return ctx.Error("input must be 4-D and blocksize in [1, 65536]");
  if (mode != "DCR" && mode != "CRD") return ctx.Error("mode must be DCR or CRD");
  const int64_t n = x.dims()[0], c = x.dims()[1], h = x.dims()[2], w = x.dims()[3];
  const size_t es = DTypeSize(x.dtype());
  const char* src = static_cast<const char*>(x.raw_data());
  if (to_space) {
    if (c % (bs * bs)) return ctx.Error("channels must be a multiple of blocksize^2");
    const int64_t oc = c / (bs * bs);
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {n, oc, SatMul(h, bs), SatMul(w, bs)}));
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t b = 0; b < n; ++b)
      for (int64_t co = 0; co < oc; ++co)
        for (int64_t yy = 0; yy < h * bs; ++yy)
          for (int64_t xx = 0; xx < w * bs; ++xx) {
            const int64_t i = yy % bs, j = xx % bs;
            const int64_t ci = mode == "DCR" ? (i * bs + j) * oc + co : co * bs * bs + i * bs + j;
            const int64_t si = ((b * c + ci) * h + yy / bs) * w + xx / bs;
            const int64_t di = ((b * oc + co) * h * bs + yy) * w * bs + xx;
            std::memcpy(dst + di * es, src + si * es, es);
          }
  } else {
    if (h % bs || w % bs) return ctx.Error("H and W must be multiples of blocksize");
    const int64_t oh = h / bs, ow = w / bs;
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {n, SatMul(c, bs * bs), oh, ow}));
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < bs; ++i)
        for (int64_t j = 0; j < bs; ++j)
          for (int64_t ci = 0; ci < c; ++ci)
            for (int64_t yy = 0; yy < oh; ++yy)
              for (int64_t xx = 0; xx < ow; ++xx) {
                const int64_t co = (i * bs + j) * c + ci;
                const int64_t si = ((b * c + ci) * h + yy * bs + i) * w + xx * bs + j;
                const int64_t di = ((b * c * bs * bs + co) * oh + yy) * ow + xx;
                std::memcpy(dst + di * es, src + si * es, es);
              }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// CenterCropPad(input, shape; axes): crops or zero-pads each listed axis around its center.

absl::StatusOr<std::vector<int64_t>> CropAxes(const Node& node, int64_t rank, int64_t count) {
  std::vector<int64_t> def(count);
  for (int64_t i = 0; i < count; ++i) def[i] = rank - count + i;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.GetInts("axes", def));
  if (static_cast<int64_t>(axes.size()) != count) {
    return absl::InvalidArgumentError(kiln::StrCat("CenterCropPad node '", node.name, "': shape holds ", count,
                                                   " values for ", axes.size(), " axes"));
  }
  for (int64_t& a : axes) {
    KILN_ASSIGN_OR_RETURN(a, NormalizeAxis(a, rank));
  }
  return axes;
}

absl::Status CenterCropPadShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& shape = ctx.input(1);
  if (!x.rank_known || !shape.value) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<int64_t>> axes =
      CropAxes(ctx.node(), static_cast<int64_t>(x.dims.size()), shape.value->num_elements());
  if (!axes.ok()) return ctx.Error(FromAbsl(axes.status().message()));
  Dims d = x.dims;
  for (size_t i = 0; i < axes->size(); ++i) {
    d[(*axes)[i]] = shape.value->GetAsInt64(i);
    if (d[(*axes)[i]] < 0) return ctx.Error(kiln::StrCat("shape value ", d[(*axes)[i]], " must not be negative"));
  }
  ctx.set_output(0, TensorType{x.dtype, d});
  return absl::OkStatus();
}

absl::Status CenterCropPadCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& shape = ctx.input(1);
  absl::StatusOr<std::vector<int64_t>> axes = CropAxes(ctx.node(), x.rank(), shape.num_elements());
  if (!axes.ok()) return ctx.Error(FromAbsl(axes.status().message()));
  Dims od = x.dims();
  std::vector<int64_t> src_start(x.rank(), 0), dst_start(x.rank(), 0), copy = x.dims();
  for (size_t i = 0; i < axes->size(); ++i) {
    const int64_t a = (*axes)[i], want = shape.GetAsInt64(i), have = x.dims()[a];
    if (want < 0) return ctx.Error("shape must not be negative");
    od[a] = want;
    if (want < have) {
      src_start[a] = (have - want) / 2;
      copy[a] = want;
    } else {
      dst_start[a] = (want - have) / 2;
      copy[a] = have;
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateZeroedOutput(0, x.dtype(), od));
  if (NumElements(copy) == 0) return absl::OkStatus();
  const size_t es = DTypeSize(x.dtype());
  const std::vector<int64_t> ss = Strides(x.dims()), ds = Strides(od);
  std::vector<int64_t> idx(x.rank(), 0);
  do {
    int64_t so = 0, dof = 0;
    for (int64_t d = 0; d < x.rank(); ++d) {
      so += (idx[d] + src_start[d]) * ss[d];
      dof += (idx[d] + dst_start[d]) * ds[d];
    }
    std::memcpy(static_cast<char*>(y->raw_data()) + dof * es, static_cast<const char*>(x.raw_data()) + so * es, es);
  } while (NextIndex(idx, copy));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// AffineGrid(theta [N, r, r + 1], size [N, C, spatial...]; align_corners) -> grid [N, spatial..., r].

absl::Status AffineGridShape(InferenceContext& ctx) {
  const TensorType& theta = ctx.input(0);
  const TensorType& size = ctx.input(1);
  if (!IsAnyFloat(theta.dtype)) return ctx.Error("theta must be float");
  if (!size.value) {
    ctx.set_output(0, UnknownRank(theta.dtype));
    return absl::OkStatus();
  }
  const std::vector<int64_t> sz = ToInt64Vector(*size.value);
  if (sz.size() != 4 && sz.size() != 5) return ctx.Error("size must hold 4 or 5 values");
  for (int64_t d : sz) if (d < 0) return ctx.Error(kiln::StrCat("size ", DimsToString(sz), " must not be negative"));
  Dims od{sz[0]};
  od.insert(od.end(), sz.begin() + 2, sz.end());
  od.push_back(static_cast<int64_t>(sz.size()) - 2);
  ctx.set_output(0, TensorType{theta.dtype, od});
  return absl::OkStatus();
}

absl::Status AffineGridCompute(KernelContext& ctx) {
  const Tensor& theta = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t align, ctx.node().GetInt("align_corners", 0));
  const std::vector<int64_t> sz = ToInt64Vector(ctx.input(1));
  if (sz.size() != 4 && sz.size() != 5) return ctx.Error("size must hold 4 or 5 values");
  const int64_t r = static_cast<int64_t>(sz.size()) - 2, n = sz[0];
  if (theta.dims() != Dims{n, r, r + 1}) return ctx.Error(kiln::StrCat("theta must be [", n, ",", r, ",", r + 1, "]"));
  const Dims sp(sz.begin() + 2, sz.end());
  for (int64_t d : sp) if (d < 0) return ctx.Error("size must not be negative");
  Dims grid_dims = sp;
  grid_dims.insert(grid_dims.begin(), n);
  grid_dims.push_back(r);
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, grid_dims));
  const int64_t count = NumElements(sp);
  auto base = [align](int64_t i, int64_t len) {
    if (align) return len > 1 ? -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(len - 1) : 0.0;
    return (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(len) - 1.0;
  };
  const std::vector<double> t = ReadDoubles(theta);
  std::vector<double> out(n * count * r);
  const std::vector<int64_t> st = Strides(sp);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < count; ++p) {
      // Coordinates in x, y(, z) order: the last spatial dimension first.
      std::vector<double> coord(r + 1, 1.0);
      for (int64_t d = 0; d < r; ++d) {
        const int64_t i = (p / st[d]) % sp[d];
        coord[r - 1 - d] = base(i, sp[d]);
      }
      for (int64_t k = 0; k < r; ++k) {
        double acc = 0;
        for (int64_t j = 0; j <= r; ++j) acc += t[(b * r + k) * (r + 1) + j] * coord[j];
        out[(b * count + p) * r + k] = acc;
      }
    }
  Dims od{n};
  od.insert(od.end(), sp.begin(), sp.end());
  od.push_back(r);
  return WriteDoubles(ctx, 0, theta.dtype(), od, out);
}

// ---------------------------------------------------------------------------------------------
// Col2Im(input [N, C * prod(block), L], image_shape, block_shape; dilations, pads, strides).

absl::Status Col2ImShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype)) return ctx.Error("input must be float");
  if (!x.rank_known || !ctx.input(1).value || !ctx.input(2).value) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  const std::vector<int64_t> image = ToInt64Vector(*ctx.input(1).value), block = ToInt64Vector(*ctx.input(2).value);
  int64_t bs = 1;
  for (int64_t b : block) {
    if (b <= 0 || b > (int64_t{1} << 20) || bs > (int64_t{1} << 40)) return ctx.Error("block_shape values must be in [1, 2^20]");
    bs *= b;
  }
  if (x.dims.size() != 3 || block.size() != image.size() || bs <= 0) return ctx.Error("input must be 3-D with matching block and image shapes");
  for (int64_t d : image) {
    if (d < 0) return ctx.Error(kiln::StrCat("image_shape ", DimsToString(image), " must not be negative"));
  }
  Dims od{x.dims[0], x.dims[1] < 0 ? -1 : x.dims[1] / bs};
  od.insert(od.end(), image.begin(), image.end());
  ctx.set_output(0, TensorType{x.dtype, od});
  return absl::OkStatus();
}

absl::Status Col2ImCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<int64_t> image = ToInt64Vector(ctx.input(1)), block = ToInt64Vector(ctx.input(2));
  const int64_t r = static_cast<int64_t>(image.size());
  if (x.rank() != 3 || static_cast<int64_t>(block.size()) != r || r == 0) return ctx.Error("bad input, image or block shape");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dil, ctx.node().GetInts("dilations", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> str, ctx.node().GetInts("strides", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, ctx.node().GetInts("pads", std::vector<int64_t>(2 * r, 0)));
  if (static_cast<int64_t>(dil.size()) != r || static_cast<int64_t>(str.size()) != r || static_cast<int64_t>(pads.size()) != 2 * r) {
    return ctx.Error("dilations, strides and pads must match the image rank");
  }
  Dims nblocks(r);
  int64_t bs = 1, L = 1;
  // Not std::abs: pads may hold INT64_MIN.
  auto outside = [](int64_t v) { return v < -(int64_t{1} << 40) || v > (int64_t{1} << 40); };
  for (int64_t d = 0; d < r; ++d) {
    if (block[d] <= 0 || str[d] <= 0 || dil[d] <= 0 || block[d] > (int64_t{1} << 20) || str[d] > (int64_t{1} << 20) ||
        dil[d] > (int64_t{1} << 20) || image[d] < 0 || image[d] > (int64_t{1} << 40) || outside(pads[d]) ||
        outside(pads[d + r]) || bs > (int64_t{1} << 40) || L > (int64_t{1} << 40)) {
      return ctx.Error("block, strides and dilations must be in [1, 2^20], image and pads within 2^40");
    }
    nblocks[d] = (image[d] + pads[d] + pads[d + r] - (dil[d] * (block[d] - 1) + 1)) / str[d] + 1;
    bs *= block[d];
    L = SatMul(L, nblocks[d]);  // Up to 2^40 times 2^42: saturates, and then matches no input.
  }
  const int64_t n = x.dims()[0];
  if (x.dims()[1] % bs || x.dims()[2] != L) return ctx.Error(kiln::StrCat("input ", x.TypeString(), " does not match the blocks"));
  for (int64_t d : image) if (d < 0) return ctx.Error("image_shape must not be negative");
  const int64_t c = x.dims()[1] / bs, img = NumElements(Dims(image.begin(), image.end()));
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {n, c, img}));
  const std::vector<double> v = ReadDoubles(x);
  std::vector<double> y(n * c * img, 0.0);
  const std::vector<int64_t> bstr = Strides(Dims(block.begin(), block.end())), lstr = Strides(nblocks);
  const std::vector<int64_t> istr = Strides(Dims(image.begin(), image.end()));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t k = 0; k < bs; ++k)
        for (int64_t l = 0; l < L; ++l) {
          int64_t off = 0;
          bool inside = true;
          for (int64_t d = 0; d < r && inside; ++d) {
            const int64_t kd = (k / bstr[d]) % block[d], ld = (l / lstr[d]) % nblocks[d];
            const int64_t pos = ld * str[d] - pads[d] + kd * dil[d];
            inside = pos >= 0 && pos < image[d];
            off += pos * istr[d];
          }
          if (inside) y[(b * c + ch) * img + off] += v[(b * c * bs + ch * bs + k) * L + l];
        }
  Dims od{n, c};
  od.insert(od.end(), image.begin(), image.end());
  return WriteDoubles(ctx, 0, x.dtype(), od, y);
}

}  // namespace

void RegisterImageOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("DepthToSpace", 1, 1, [](InferenceContext& ctx) { return SpaceDepthShape(ctx, true); },
                          [](KernelContext& ctx) { return SpaceDepthCompute(ctx, true); }));
  AddOp(registry, StatelessOpDef("SpaceToDepth", 1, 1, [](InferenceContext& ctx) { return SpaceDepthShape(ctx, false); },
                          [](KernelContext& ctx) { return SpaceDepthCompute(ctx, false); }));
  AddOp(registry, StatelessOpDef("CenterCropPad", 2, 2, CenterCropPadShape, CenterCropPadCompute));
  AddOp(registry, StatelessOpDef("AffineGrid", 2, 2, AffineGridShape, AffineGridCompute));
  AddOp(registry, StatelessOpDef("Col2Im", 3, 3, Col2ImShape, Col2ImCompute));
}

}  // namespace kiln::kernels
