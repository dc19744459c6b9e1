#include "kiln/hlo/serialization.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "hlo.pb.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/verifier.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {


constexpr int32_t kFormatVersion = 1;
// Tuple shapes and literals nest at most this deep (protobuf itself stops at 100 levels).
constexpr int kMaxNesting = 64;

// --- Writing ---------------------------------------------------------------------------------

hloproto::ElementType ElementTypeToProto(PrimitiveType type) {
  switch (type) {
    case PrimitiveType::PRED: return hloproto::PRED;
    case PrimitiveType::S8: return hloproto::S8;
    case PrimitiveType::U8: return hloproto::U8;
    case PrimitiveType::S16: return hloproto::S16;
    case PrimitiveType::U16: return hloproto::U16;
    case PrimitiveType::S32: return hloproto::S32;
    case PrimitiveType::U32: return hloproto::U32;
    case PrimitiveType::S64: return hloproto::S64;
    case PrimitiveType::U64: return hloproto::U64;
    case PrimitiveType::F16: return hloproto::F16;
    case PrimitiveType::BF16: return hloproto::BF16;
    case PrimitiveType::F32: return hloproto::F32;
    case PrimitiveType::F64: return hloproto::F64;
    case PrimitiveType::TUPLE: return hloproto::TUPLE;
    case PrimitiveType::TOKEN: return hloproto::TOKEN;
    case PrimitiveType::PRIMITIVE_TYPE_INVALID: break;
  }
  return hloproto::ELEMENT_TYPE_INVALID;
}

void ShapeToProto(const Shape& shape, hloproto::ShapeProto* out) {
  out->set_element_type(ElementTypeToProto(shape.element_type()));
  if (shape.IsTuple()) {
    for (const Shape& s : shape.tuple_shapes()) ShapeToProto(s, out->add_tuple_shapes());
    return;
  }
  if (!shape.IsArray()) return;
  for (int64_t d : shape.dimensions()) out->add_dimensions(d);
  if (!shape.is_static()) {
    for (bool d : shape.dynamic_dimensions()) out->add_is_dynamic_dimension(d);
  }
  hloproto::LayoutProto* layout = out->mutable_layout();
  for (int64_t d : shape.layout().minor_to_major) layout->add_minor_to_major(d);
  for (const Tile& t : shape.layout().tiles) {
    hloproto::TileProto* tile = layout->add_tiles();
    for (int64_t d : t.dimensions) tile->add_dimensions(d);
  }
}

void LiteralToProto(const Literal& literal, hloproto::LiteralProto* out) {
  ShapeToProto(literal.shape(), out->mutable_shape());
  if (literal.shape().IsTuple()) {
    for (const Literal& e : literal.tuple_elements()) LiteralToProto(e, out->add_tuple_literals());
    return;
  }
  out->set_data(literal.untyped_data(), literal.size_bytes());
}

template <typename Repeated>
void AddAll(const std::vector<int64_t>& values, Repeated* out) {
  out->Reserve(static_cast<int>(values.size()));
  for (int64_t v : values) out->Add(v);
}

void AttributesToProto(const Instruction& instr, hloproto::InstructionProto* p) {
  AddAll(instr.dimensions(), p->mutable_dimensions());
  AddAll(instr.slice_starts(), p->mutable_slice_starts());
  AddAll(instr.slice_limits(), p->mutable_slice_limits());
  AddAll(instr.slice_strides(), p->mutable_slice_strides());
  AddAll(instr.slice_sizes(), p->mutable_slice_sizes());
  for (const PaddingDimension& d : instr.padding_config()) {
    hloproto::PaddingDimensionProto* pd = p->add_padding_config();
    pd->set_edge_padding_low(d.edge_padding_low);
    pd->set_edge_padding_high(d.edge_padding_high);
    pd->set_interior_padding(d.interior_padding);
  }
  // Sub-messages equal to hlo::Instruction's defaults are left out (a reader keeps its defaults
  // when one is absent), which keeps the bytes small.
  for (const WindowDimension& d : instr.window().dimensions) {
    hloproto::WindowDimensionProto* wd = p->mutable_window()->add_dimensions();
    wd->set_size(d.size);
    wd->set_stride(d.stride);
    wd->set_padding_low(d.padding_low);
    wd->set_padding_high(d.padding_high);
    wd->set_window_dilation(d.window_dilation);
    wd->set_base_dilation(d.base_dilation);
    wd->set_window_reversal(d.window_reversal);
  }
  const ConvolutionDimensionNumbers& c = instr.convolution_dimension_numbers();
  if (!(c == ConvolutionDimensionNumbers{})) {
    hloproto::ConvolutionDimensionNumbersProto* cp = p->mutable_convolution_dimension_numbers();
    cp->set_input_batch_dimension(c.input_batch_dimension);
    cp->set_input_feature_dimension(c.input_feature_dimension);
    AddAll(c.input_spatial_dimensions, cp->mutable_input_spatial_dimensions());
    cp->set_kernel_input_feature_dimension(c.kernel_input_feature_dimension);
    cp->set_kernel_output_feature_dimension(c.kernel_output_feature_dimension);
    AddAll(c.kernel_spatial_dimensions, cp->mutable_kernel_spatial_dimensions());
    cp->set_output_batch_dimension(c.output_batch_dimension);
    cp->set_output_feature_dimension(c.output_feature_dimension);
    AddAll(c.output_spatial_dimensions, cp->mutable_output_spatial_dimensions());
  }
  if (instr.feature_group_count() != 1) p->set_feature_group_count(instr.feature_group_count());
  if (instr.batch_group_count() != 1) p->set_batch_group_count(instr.batch_group_count());
  const DotDimensionNumbers& d = instr.dot_dimension_numbers();
  if (!(d == DotDimensionNumbers{})) {
    hloproto::DotDimensionNumbersProto* dp = p->mutable_dot_dimension_numbers();
    AddAll(d.lhs_batch_dimensions, dp->mutable_lhs_batch_dimensions());
    AddAll(d.rhs_batch_dimensions, dp->mutable_rhs_batch_dimensions());
    AddAll(d.lhs_contracting_dimensions, dp->mutable_lhs_contracting_dimensions());
    AddAll(d.rhs_contracting_dimensions, dp->mutable_rhs_contracting_dimensions());
  }
  const GatherDimensionNumbers& g = instr.gather_dimension_numbers();
  if (!(g == GatherDimensionNumbers{})) {
    hloproto::GatherDimensionNumbersProto* gp = p->mutable_gather_dimension_numbers();
    AddAll(g.offset_dims, gp->mutable_offset_dims());
    AddAll(g.collapsed_slice_dims, gp->mutable_collapsed_slice_dims());
    AddAll(g.start_index_map, gp->mutable_start_index_map());
    gp->set_index_vector_dim(g.index_vector_dim);
    AddAll(g.operand_batching_dims, gp->mutable_operand_batching_dims());
    AddAll(g.start_indices_batching_dims, gp->mutable_start_indices_batching_dims());
  }
  const ScatterDimensionNumbers& s = instr.scatter_dimension_numbers();
  if (!(s == ScatterDimensionNumbers{})) {
    hloproto::ScatterDimensionNumbersProto* sp = p->mutable_scatter_dimension_numbers();
    AddAll(s.update_window_dims, sp->mutable_update_window_dims());
    AddAll(s.inserted_window_dims, sp->mutable_inserted_window_dims());
    AddAll(s.scatter_dims_to_operand_dims, sp->mutable_scatter_dims_to_operand_dims());
    sp->set_index_vector_dim(s.index_vector_dim);
    AddAll(s.input_batching_dims, sp->mutable_input_batching_dims());
    AddAll(s.scatter_indices_batching_dims, sp->mutable_scatter_indices_batching_dims());
  }
  p->set_indices_are_sorted(instr.indices_are_sorted());
  p->set_unique_indices(instr.unique_indices());
  p->set_comparison_direction(
      static_cast<hloproto::ComparisonDirectionProto>(instr.comparison_direction()));
  p->set_comparison_type(static_cast<hloproto::ComparisonTypeProto>(instr.comparison_type()));
  if (instr.opcode() == Opcode::kConstant) LiteralToProto(instr.literal(), p->mutable_literal());
  p->set_parameter_number(instr.parameter_number());
  p->set_tuple_index(instr.tuple_index());
  p->set_exponent_bits(instr.exponent_bits());
  p->set_mantissa_bits(instr.mantissa_bits());
  p->set_epsilon(instr.epsilon());
  p->set_feature_index(instr.feature_index());
  p->set_is_stable(instr.is_stable());
  p->set_rng_algorithm(static_cast<hloproto::RandomAlgorithmProto>(instr.rng_algorithm()));
  const QuantizationParams& q = instr.quantization();
  if (!(q == QuantizationParams{})) {
    hloproto::QuantizationParamsProto* qp = p->mutable_quantization();
    for (double v : q.scales) qp->add_scales(v);
    AddAll(q.zero_points, qp->mutable_zero_points());
    qp->set_quantization_dimension(q.quantization_dimension);
  }
  p->set_custom_call_target(instr.custom_call_target());
  p->set_backend_config(instr.backend_config());
  p->set_fusion_kind(static_cast<hloproto::FusionKindProto>(instr.fusion_kind()));
}

// --- Reading ---------------------------------------------------------------------------------

absl::Status Invalid(auto&&... parts) {
  return absl::InvalidArgumentError(kiln::StrCat("DeserializeModule: ", parts...));
}

absl::StatusOr<PrimitiveType> ElementTypeFromProto(int type) {
  switch (type) {
    case hloproto::PRED: return PrimitiveType::PRED;
    case hloproto::S8: return PrimitiveType::S8;
    case hloproto::U8: return PrimitiveType::U8;
    case hloproto::S16: return PrimitiveType::S16;
    case hloproto::U16: return PrimitiveType::U16;
    case hloproto::S32: return PrimitiveType::S32;
    case hloproto::U32: return PrimitiveType::U32;
    case hloproto::S64: return PrimitiveType::S64;
    case hloproto::U64: return PrimitiveType::U64;
    case hloproto::F16: return PrimitiveType::F16;
    case hloproto::BF16: return PrimitiveType::BF16;
    case hloproto::F32: return PrimitiveType::F32;
    case hloproto::F64: return PrimitiveType::F64;
    case hloproto::TUPLE: return PrimitiveType::TUPLE;
    case hloproto::TOKEN: return PrimitiveType::TOKEN;
    default: break;
  }
  return absl::InvalidArgumentError(kiln::StrCat("unknown element type ", type));
}

// Bytes of a dense array of `dims`, or an error when the size does not fit in an int64.
absl::StatusOr<int64_t> CheckedByteSize(PrimitiveType type, absl::Span<const int64_t> dims) {
  int64_t bytes = ByteWidth(type);
  for (int64_t d : dims) {
    if (d != 0 && bytes > std::numeric_limits<int64_t>::max() / d) {
      return absl::InvalidArgumentError("array size overflows 64 bits");
    }
    bytes *= d;
  }
  return bytes;
}

// Every field checked; errors do not name the shape's owner (callers annotate).
absl::StatusOr<Shape> ShapeFromProto(const hloproto::ShapeProto& p, int depth = 0) {
  if (depth > kMaxNesting) return absl::InvalidArgumentError("shape nests too deeply");
  KILN_ASSIGN_OR_RETURN(PrimitiveType type, ElementTypeFromProto(p.element_type()));
  bool has_array_fields = p.dimensions_size() > 0 || p.is_dynamic_dimension_size() > 0 ||
                          p.layout().minor_to_major_size() > 0 || p.layout().tiles_size() > 0;
  if (type == PrimitiveType::TUPLE) {
    if (has_array_fields) {
      return absl::InvalidArgumentError("a tuple shape has dimensions or a layout");
    }
    std::vector<Shape> elements;
    for (const hloproto::ShapeProto& e : p.tuple_shapes()) {
      KILN_ASSIGN_OR_RETURN(Shape s, ShapeFromProto(e, depth + 1));
      elements.push_back(std::move(s));
    }
    return ShapeUtil::MakeTupleShape(std::move(elements));
  }
  if (p.tuple_shapes_size() > 0) {
    return absl::InvalidArgumentError(kiln::StrCat(PrimitiveTypeName(type), " shape has tuple elements"));
  }
  if (type == PrimitiveType::TOKEN) {
    if (has_array_fields) return absl::InvalidArgumentError("a token shape has dimensions");
    return ShapeUtil::MakeTokenShape();
  }
  std::vector<int64_t> dims(p.dimensions().begin(), p.dimensions().end());
  for (int64_t d : dims) {
    if (d < 0) return absl::InvalidArgumentError(kiln::StrCat("negative dimension size ", d));
  }
  KILN_RETURN_IF_ERROR(CheckedByteSize(type, dims).status());
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (p.is_dynamic_dimension_size() != 0 && p.is_dynamic_dimension_size() != rank) {
    return absl::InvalidArgumentError(
        kiln::StrCat(p.is_dynamic_dimension_size(), " dynamic-dimension flags for rank ", rank));
  }
  if (p.layout().minor_to_major_size() != rank) {
    return absl::InvalidArgumentError(
        kiln::StrCat("layout has ", p.layout().minor_to_major_size(), " dimensions for rank ", rank));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t d : p.layout().minor_to_major()) {
    if (d < 0 || d >= rank || seen[d]) {
      return absl::InvalidArgumentError(
          "layout minor_to_major is not a permutation of the dimensions");
    }
    seen[d] = true;
  }
  Shape shape(type, dims);
  for (int64_t i = 0; i < p.is_dynamic_dimension_size(); ++i) {
    shape.set_dynamic_dimension(i, p.is_dynamic_dimension(i));
  }
  Layout* layout = shape.mutable_layout();
  layout->minor_to_major.assign(p.layout().minor_to_major().begin(),
                                p.layout().minor_to_major().end());
  for (const hloproto::TileProto& t : p.layout().tiles()) {
    if (t.dimensions_size() == 0) return absl::InvalidArgumentError("a layout tile is empty");
    for (int64_t d : t.dimensions()) {
      if (d < 1) return absl::InvalidArgumentError(kiln::StrCat("layout tile dimension ", d, " < 1"));
    }
    layout->tiles.push_back(
        Tile{std::vector<int64_t>(t.dimensions().begin(), t.dimensions().end())});
  }
  return shape;
}

absl::StatusOr<Literal> LiteralFromProto(const hloproto::LiteralProto& p, int depth = 0) {
  if (depth > kMaxNesting) return absl::InvalidArgumentError("literal nests too deeply");
  KILN_ASSIGN_OR_RETURN(Shape shape, ShapeFromProto(p.shape()));
  if (shape.IsTuple()) {
    if (!p.data().empty()) return absl::InvalidArgumentError("a tuple literal has array data");
    if (p.tuple_literals_size() != shape.tuple_shapes_size()) {
      return absl::InvalidArgumentError(kiln::StrCat("tuple literal has ", p.tuple_literals_size(),
                                            " elements, its shape ", shape.tuple_shapes_size()));
    }
    std::vector<Literal> elements;
    for (int i = 0; i < p.tuple_literals_size(); ++i) {
      KILN_ASSIGN_OR_RETURN(Literal e, LiteralFromProto(p.tuple_literals(i), depth + 1));
      if (!(e.shape() == shape.tuple_shapes(i))) {
        return absl::InvalidArgumentError(kiln::StrCat("tuple literal element ", i, " has shape ",
                                              e.shape().ToString(), ", the tuple says ",
                                              shape.tuple_shapes(i).ToString()));
      }
      elements.push_back(std::move(e));
    }
    return Literal::MakeTuple(std::move(elements));
  }
  if (p.tuple_literals_size() > 0) {
    return absl::InvalidArgumentError("an array literal has tuple elements");
  }
  if (!shape.IsArray()) return absl::InvalidArgumentError(kiln::StrCat(shape.ToString(), " literal"));
  KILN_ASSIGN_OR_RETURN(int64_t bytes, CheckedByteSize(shape.element_type(), shape.dimensions()));
  // Checked before Literal allocates anything, so a corrupt shape cannot demand huge memory.
  if (static_cast<int64_t>(p.data().size()) != bytes) {
    return absl::InvalidArgumentError(kiln::StrCat("literal of ", shape.ToString(), " has ", p.data().size(),
                                          " bytes of data, needs ", bytes));
  }
  if (shape.element_type() == PrimitiveType::PRED) {
    for (char c : p.data()) {
      if (c != 0 && c != 1)
        return absl::InvalidArgumentError("a pred literal holds a byte other than 0 or 1");
    }
  }
  return Literal::CreateFromBytes(shape, p.data().data(), p.data().size());
}

// Copies the attribute fields of `p` onto `instr` (values are checked later by the verifier).
absl::Status AttributesFromProto(const hloproto::InstructionProto& p, Instruction* instr) {
  instr->set_dimensions({p.dimensions().begin(), p.dimensions().end()});
  instr->set_slice({p.slice_starts().begin(), p.slice_starts().end()},
                   {p.slice_limits().begin(), p.slice_limits().end()},
                   {p.slice_strides().begin(), p.slice_strides().end()});
  instr->set_slice_sizes({p.slice_sizes().begin(), p.slice_sizes().end()});
  PaddingConfig padding;
  for (const hloproto::PaddingDimensionProto& d : p.padding_config()) {
    padding.push_back({d.edge_padding_low(), d.edge_padding_high(), d.interior_padding()});
  }
  instr->set_padding_config(std::move(padding));
  Window window;
  for (const hloproto::WindowDimensionProto& d : p.window().dimensions()) {
    window.dimensions.push_back({d.size(), d.stride(), d.padding_low(), d.padding_high(),
                                 d.window_dilation(), d.base_dilation(), d.window_reversal()});
  }
  instr->set_window(std::move(window));
  // An absent sub-message keeps hlo::Instruction's default.
  const hloproto::ConvolutionDimensionNumbersProto& cp = p.convolution_dimension_numbers();
  ConvolutionDimensionNumbers c;
  if (p.has_convolution_dimension_numbers()) {
    c.input_batch_dimension = cp.input_batch_dimension();
    c.input_feature_dimension = cp.input_feature_dimension();
    c.input_spatial_dimensions.assign(cp.input_spatial_dimensions().begin(),
                                      cp.input_spatial_dimensions().end());
    c.kernel_input_feature_dimension = cp.kernel_input_feature_dimension();
    c.kernel_output_feature_dimension = cp.kernel_output_feature_dimension();
    c.kernel_spatial_dimensions.assign(cp.kernel_spatial_dimensions().begin(),
                                       cp.kernel_spatial_dimensions().end());
    c.output_batch_dimension = cp.output_batch_dimension();
    c.output_feature_dimension = cp.output_feature_dimension();
    c.output_spatial_dimensions.assign(cp.output_spatial_dimensions().begin(),
                                       cp.output_spatial_dimensions().end());
  }
  instr->set_convolution_dimension_numbers(std::move(c));
  instr->set_feature_group_count(p.has_feature_group_count() ? p.feature_group_count() : 1);
  instr->set_batch_group_count(p.has_batch_group_count() ? p.batch_group_count() : 1);
  const hloproto::DotDimensionNumbersProto& dp = p.dot_dimension_numbers();
  DotDimensionNumbers d;
  d.lhs_batch_dimensions.assign(dp.lhs_batch_dimensions().begin(), dp.lhs_batch_dimensions().end());
  d.rhs_batch_dimensions.assign(dp.rhs_batch_dimensions().begin(), dp.rhs_batch_dimensions().end());
  d.lhs_contracting_dimensions.assign(dp.lhs_contracting_dimensions().begin(),
                                      dp.lhs_contracting_dimensions().end());
  d.rhs_contracting_dimensions.assign(dp.rhs_contracting_dimensions().begin(),
                                      dp.rhs_contracting_dimensions().end());
  instr->set_dot_dimension_numbers(std::move(d));
  const hloproto::GatherDimensionNumbersProto& gp = p.gather_dimension_numbers();
  GatherDimensionNumbers g;
  g.offset_dims.assign(gp.offset_dims().begin(), gp.offset_dims().end());
  g.collapsed_slice_dims.assign(gp.collapsed_slice_dims().begin(), gp.collapsed_slice_dims().end());
  g.start_index_map.assign(gp.start_index_map().begin(), gp.start_index_map().end());
  g.index_vector_dim = gp.index_vector_dim();
  g.operand_batching_dims.assign(gp.operand_batching_dims().begin(),
                                 gp.operand_batching_dims().end());
  g.start_indices_batching_dims.assign(gp.start_indices_batching_dims().begin(),
                                       gp.start_indices_batching_dims().end());
  instr->set_gather_dimension_numbers(std::move(g));
  const hloproto::ScatterDimensionNumbersProto& sp = p.scatter_dimension_numbers();
  ScatterDimensionNumbers s;
  s.update_window_dims.assign(sp.update_window_dims().begin(), sp.update_window_dims().end());
  s.inserted_window_dims.assign(sp.inserted_window_dims().begin(), sp.inserted_window_dims().end());
  s.scatter_dims_to_operand_dims.assign(sp.scatter_dims_to_operand_dims().begin(),
                                        sp.scatter_dims_to_operand_dims().end());
  s.index_vector_dim = sp.index_vector_dim();
  s.input_batching_dims.assign(sp.input_batching_dims().begin(), sp.input_batching_dims().end());
  s.scatter_indices_batching_dims.assign(sp.scatter_indices_batching_dims().begin(),
                                         sp.scatter_indices_batching_dims().end());
  instr->set_scatter_dimension_numbers(std::move(s));
  instr->set_indices_are_sorted(p.indices_are_sorted());
  instr->set_unique_indices(p.unique_indices());
  if (p.comparison_direction() < 0 || p.comparison_direction() > 5) {
    return absl::InvalidArgumentError(
        kiln::StrCat("unknown comparison direction ", p.comparison_direction()));
  }
  instr->set_comparison_direction(static_cast<ComparisonDirection>(p.comparison_direction()));
  if (p.comparison_type() < 0 || p.comparison_type() > 4) {
    return absl::InvalidArgumentError(kiln::StrCat("unknown comparison type ", p.comparison_type()));
  }
  instr->set_comparison_type(static_cast<ComparisonType>(p.comparison_type()));
  instr->set_tuple_index(p.tuple_index());
  instr->set_reduce_precision(p.exponent_bits(), p.mantissa_bits());
  instr->set_epsilon(p.epsilon());
  instr->set_feature_index(p.feature_index());
  instr->set_is_stable(p.is_stable());
  if (p.rng_algorithm() < 0 || p.rng_algorithm() > 2) {
    return absl::InvalidArgumentError(kiln::StrCat("unknown random algorithm ", p.rng_algorithm()));
  }
  instr->set_rng_algorithm(static_cast<RandomAlgorithm>(p.rng_algorithm()));
  QuantizationParams q;
  if (p.has_quantization()) {
    q.scales.assign(p.quantization().scales().begin(), p.quantization().scales().end());
    q.zero_points.assign(p.quantization().zero_points().begin(),
                         p.quantization().zero_points().end());
    q.quantization_dimension = p.quantization().quantization_dimension();
  }
  instr->set_quantization(std::move(q));
  instr->set_custom_call_target(p.custom_call_target());
  instr->set_backend_config(p.backend_config());
  if (p.fusion_kind() < 0 || p.fusion_kind() > 1) {
    return absl::InvalidArgumentError(kiln::StrCat("unknown fusion kind ", p.fusion_kind()));
  }
  instr->set_fusion_kind(static_cast<FusionKind>(p.fusion_kind()));
  return absl::OkStatus();
}

// Orders nodes 0..n-1 so that every node follows the nodes it depends on (`deps(i)` lists indices),
// keeping the given order where it already is one (a depth-first post-order started from each
// node in turn). On a cycle, returns the index of a node on it.
template <typename Deps>
absl::StatusOr<std::vector<int>> TopologicalOrder(int n, Deps deps, int* cycle_node) {
  enum : uint8_t { kNew, kOpen, kDone };
  std::vector<uint8_t> state(n, kNew);
  std::vector<int> order;
  order.reserve(n);
  for (int start = 0; start < n; ++start) {
    if (state[start] != kNew) continue;
    std::vector<std::pair<int, size_t>> stack = {{start, 0}};
    state[start] = kOpen;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const std::vector<int>& d = deps(node);
      if (next < d.size()) {
        int dep = d[next++];
        if (state[dep] == kOpen) {
          *cycle_node = dep;
          return absl::InvalidArgumentError("cycle");
        }
        if (state[dep] == kNew) {
          state[dep] = kOpen;
          stack.push_back({dep, 0});
        }
        continue;
      }
      state[node] = kDone;
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

class Reader {
 public:
  absl::StatusOr<std::unique_ptr<Module>> Read(const hloproto::ModuleProto& p) {
    if (p.version() != kFormatVersion) {
      return Invalid("format version ", p.version(), ", this build reads version ", kFormatVersion);
    }
    if (p.computations_size() == 0) return Invalid("module '", p.name(), "' has no computations");
    // Computation ids, names and the call graph.
    const int n = p.computations_size();
    absl::flat_hash_map<int64_t, int> comp_index;
    for (int i = 0; i < n; ++i) {
      const hloproto::ComputationProto& c = p.computations(i);
      if (!comp_index.emplace(c.id(), i).second) {
        return Invalid("two computations have id ", c.id());
      }
      KILN_RETURN_IF_ERROR(ClaimName(c.name(), "computation"));
    }
    auto entry = comp_index.find(p.entry_computation_id());
    if (entry == comp_index.end()) {
      return Invalid("entry computation id ", p.entry_computation_id(), " names no computation");
    }
    std::vector<std::vector<int>> callees(n);
    for (int i = 0; i < n; ++i) {
      const hloproto::ComputationProto& c = p.computations(i);
      for (const hloproto::InstructionProto& instr : c.instructions()) {
        for (int64_t id : instr.called_computation_ids()) {
          auto it = comp_index.find(id);
          if (it == comp_index.end()) {
            return Invalid("computation %", c.name(), ", instruction %", instr.name(),
                           ": called computation id ", id, " names no computation");
          }
          callees[i].push_back(it->second);
        }
      }
    }
    int cycle = -1;
    absl::StatusOr<std::vector<int>> order = TopologicalOrder(
        n, [&](int i) -> const std::vector<int>& { return callees[i]; }, &cycle);
    if (!order.ok()) {
      return Invalid("computation %", p.computations(cycle).name(),
                     " calls itself (directly or through other computations)");
    }

    if (!IsValidHloName(p.name())) {
      return Invalid("the module name '", p.name(), "' is empty or has characters other than A-Z a-z 0-9 _ . -");
    }
    auto module = std::make_unique<Module>(p.name());
    computations_.assign(n, nullptr);
    for (int i : *order) {
      KILN_ASSIGN_OR_RETURN(std::unique_ptr<Computation> c,
                       ReadComputation(p.computations(i), comp_index));
      computations_[i] = i == entry->second ? module->AddEntryComputation(std::move(c))
                                            : module->AddEmbeddedComputation(std::move(c));
    }
    KILN_RETURN_IF_ERROR(Annotate(VerifyModule(*module), "DeserializeModule"));
    return module;
  }

 private:
  absl::Status ClaimName(const std::string& name, std::string_view what) {
    if (name.empty()) return Invalid("a ", what, " has an empty name");
    if (!IsValidHloName(name)) {
      return Invalid("the ", what, " name '", name, "' has characters other than A-Z a-z 0-9 _ . -");
    }
    if (!names_.insert(name).second) {
      return Invalid("the name '", name, "' is used twice (names are unique within a module)");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Computation>> ReadComputation(
      const hloproto::ComputationProto& p, const absl::flat_hash_map<int64_t, int>& comp_index) {
    auto err = [&](const hloproto::InstructionProto* instr, auto&&... parts) {
      return Invalid("computation %", p.name(),
                     instr != nullptr ? kiln::StrCat(", instruction %", instr->name()) : std::string(), ": ",
                     parts...);
    };
    const int n = p.instructions_size();
    if (n == 0) return err(nullptr, "has no instructions");
    absl::flat_hash_map<int64_t, int> index;
    int64_t parameter_count = 0;
    for (int i = 0; i < n; ++i) {
      const hloproto::InstructionProto& instr = p.instructions(i);
      if (!ids_.insert(instr.id()).second) return err(&instr, "id ", instr.id(), " is used twice");
      index[instr.id()] = i;
      KILN_RETURN_IF_ERROR(ClaimName(instr.name(), "instruction"));
      if (instr.opcode() == "parameter") ++parameter_count;
    }
    std::vector<std::vector<int>> operands(n);
    for (int i = 0; i < n; ++i) {
      const hloproto::InstructionProto& instr = p.instructions(i);
      for (int64_t id : instr.operand_ids()) {
        auto it = index.find(id);
        if (it == index.end()) {
          return err(&instr, "operand id ", id, " names no instruction of this computation");
        }
        operands[i].push_back(it->second);
      }
    }
    auto root = index.find(p.root_id());
    if (root == index.end()) return err(nullptr, "root id ", p.root_id(), " names no instruction");
    int cycle = -1;
    absl::StatusOr<std::vector<int>> order = TopologicalOrder(
        n, [&](int i) -> const std::vector<int>& { return operands[i]; }, &cycle);
    if (!order.ok()) {
      return err(&p.instructions(cycle), "is its own operand (directly or through others)");
    }

    auto computation = std::make_unique<Computation>(p.name());
    std::vector<Instruction*> built(n, nullptr);
    std::vector<bool> parameter_seen(parameter_count, false);
    for (int i : *order) {
      const hloproto::InstructionProto& ip = p.instructions(i);
      absl::StatusOr<Opcode> opcode = StringToOpcode(ip.opcode());
      if (!opcode.ok()) return err(&ip, "unknown opcode '", ip.opcode(), "'");
      std::optional<int> arity = OpcodeArity(*opcode);
      if (arity && *arity != ip.operand_ids_size()) {
        return err(&ip, ip.opcode(), " takes ", *arity, " operands, got ", ip.operand_ids_size());
      }
      absl::StatusOr<Shape> shape = ShapeFromProto(ip.shape());
      if (!shape.ok()) return err(&ip, "shape: ", shape.status().message());
      if (*opcode != Opcode::kConstant && ip.has_literal()) {
        return err(&ip, "has a literal but is not a constant");
      }
      std::unique_ptr<Instruction> instr;
      if (*opcode == Opcode::kParameter) {
        int64_t number = ip.parameter_number();
        if (number < 0 || number >= parameter_count || parameter_seen[number]) {
          return err(&ip, "parameter number ", number, " is out of range or repeated (",
                     parameter_count, " parameters)");
        }
        parameter_seen[number] = true;
        instr = Instruction::CreateParameter(number, *shape, ip.name());
      } else if (*opcode == Opcode::kConstant) {
        absl::StatusOr<Literal> literal = LiteralFromProto(ip.literal());
        if (!literal.ok()) return err(&ip, "literal: ", literal.status().message());
        if (!ShapeUtil::Compatible(literal->shape(), *shape)) {
          return err(&ip, "literal of shape ", literal->shape().ToString(),
                     " in a constant of shape ", shape->ToString());
        }
        instr = Instruction::CreateConstant(*std::move(literal));
        *instr->mutable_shape() = *shape;
      } else {
        std::vector<Instruction*> ops;
        for (int o : operands[i]) ops.push_back(built[o]);
        instr = Instruction::Create(*opcode, *shape, std::move(ops));
      }
      instr->set_name(ip.name());
      if (*opcode != Opcode::kParameter) instr->set_parameter_number(ip.parameter_number());
      absl::Status attrs = AttributesFromProto(ip, instr.get());
      if (!attrs.ok()) return err(&ip, attrs.message());
      std::vector<Computation*> called;
      for (int64_t id : ip.called_computation_ids()) {
        Computation* c = computations_[comp_index.at(id)];
        // The call graph was ordered first, so callees are already built.
        KILN_CHECK(c != nullptr, "callee built after its caller");
        called.push_back(c);
      }
      if (!called.empty() && !OpcodeCallsComputations(*opcode)) {
        return err(&ip, ip.opcode(), " calls no computations, but ", called.size(), " are named");
      }
      instr->set_called_computations(std::move(called));
      built[i] = computation->AddInstruction(std::move(instr));
    }
    computation->set_root_instruction(built[root->second]);
    return computation;
  }

  absl::flat_hash_set<std::string> names_;
  absl::flat_hash_set<int64_t> ids_;
  std::vector<Computation*> computations_;
};

}  // namespace

absl::StatusOr<std::string> SerializeModule(const Module& module) {
  if (module.entry_computation() == nullptr) {
    return absl::InvalidArgumentError(
        kiln::StrCat("SerializeModule: module '", module.name(), "' has no entry computation"));
  }
  hloproto::ModuleProto p;
  p.set_version(kFormatVersion);
  p.set_name(module.name());
  absl::flat_hash_map<const Computation*, int64_t> comp_ids;
  std::vector<Computation*> computations = module.MakeComputationPostOrder();
  for (const Computation* c : computations)
    comp_ids.emplace(c, static_cast<int64_t>(comp_ids.size()));
  int64_t next_id = 0;
  for (const Computation* c : computations) {
    hloproto::ComputationProto* cp = p.add_computations();
    cp->set_id(comp_ids.at(c));
    cp->set_name(c->name());
    absl::flat_hash_map<const Instruction*, int64_t> ids;
    for (const Instruction* instr : c->MakeInstructionPostOrder()) {
      int64_t id = next_id++;
      ids.emplace(instr, id);
      hloproto::InstructionProto* ip = cp->add_instructions();
      ip->set_id(id);
      ip->set_name(instr->name());
      ip->set_opcode(std::string(OpcodeString(instr->opcode())));
      ShapeToProto(instr->shape(), ip->mutable_shape());
      for (const Instruction* op : instr->operands()) {
        auto it = ids.find(op);
        if (it == ids.end()) {
          return absl::InvalidArgumentError(kiln::StrCat("SerializeModule: %", instr->name(), " in %",
                                                c->name(), " uses %", op->name(),
                                                " of another computation"));
        }
        ip->add_operand_ids(it->second);
      }
      for (const Computation* called : instr->called_computations()) {
        auto it = comp_ids.find(called);
        if (it == comp_ids.end()) {
          return absl::InvalidArgumentError(kiln::StrCat("SerializeModule: %", instr->name(),
                                                " calls a computation outside module '",
                                                module.name(), "'"));
        }
        ip->add_called_computation_ids(it->second);
      }
      AttributesToProto(*instr, ip);
    }
    if (c->root_instruction() == nullptr || !ids.contains(c->root_instruction())) {
      return absl::InvalidArgumentError(
          kiln::StrCat("SerializeModule: computation %", c->name(), " has no root in it"));
    }
    cp->set_root_id(ids.at(c->root_instruction()));
  }
  p.set_entry_computation_id(comp_ids.at(module.entry_computation()));
  std::string bytes;
  if (!p.SerializeToString(&bytes)) {
    return absl::InternalError(
        kiln::StrCat("SerializeModule: protobuf could not serialize module '", module.name(), "'"));
  }
  return bytes;
}

absl::StatusOr<std::unique_ptr<Module>> DeserializeModule(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Invalid("input of ", bytes.size(), " bytes exceeds protobuf's 2 GiB limit");
  }
  hloproto::ModuleProto p;
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Invalid("the ", bytes.size(),
                   " bytes are not a kiln.hloproto.ModuleProto (truncated or corrupt)");
  }
  return Reader().Read(p);
}

}  // namespace kiln::hlo
