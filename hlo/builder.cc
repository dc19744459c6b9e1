#include "kiln/hlo/builder.h"

#include "kiln/support/strings.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_join.h"
#include "kiln/hlo/native_types.h"
#include "kiln/hlo/shape_inference.h"
#include "kiln/hlo/verifier.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

struct Builder::SharedState {
  std::unique_ptr<Module> module;
  absl::Status first_error;
  std::map<std::pair<Opcode, PrimitiveType>, Computation*> scalar_computations;
};

namespace {
const Shape& InvalidShape() {
  static const Shape* s = new Shape();
  return *s;
}
std::vector<int64_t> ToVec(absl::Span<const int64_t> s) { return {s.begin(), s.end()}; }
}  // namespace

const Shape& Op::shape() const {
  return instruction_ != nullptr ? instruction_->shape() : InvalidShape();
}

Builder::Builder(std::string name) : state_(std::make_shared<SharedState>()) {
  state_->module = std::make_unique<Module>(name);
  computation_ = std::make_unique<Computation>(std::move(name));
  computation_->set_parent(state_->module.get());
}

Builder::Builder(std::string name, std::shared_ptr<SharedState> state) : state_(std::move(state)) {
  computation_ = std::make_unique<Computation>(std::move(name));
  computation_->set_parent(state_->module.get());
}

Builder::~Builder() = default;

std::unique_ptr<Builder> Builder::CreateSubBuilder(std::string_view name) {
  return std::unique_ptr<Builder>(new Builder(std::string(name), state_));
}

absl::Status Builder::first_error() const { return state_->first_error; }

void Builder::ReportError(absl::Status status) {
  if (state_->first_error.ok() && !status.ok()) state_->first_error = std::move(status);
}

absl::StatusOr<Shape> Builder::GetShape(Op op) const {
  if (op.valid()) return op.shape();
  if (!state_->first_error.ok()) return state_->first_error;
  return absl::InvalidArgumentError("invalid Op");
}

Op Builder::Fail(std::string_view op_name, absl::Span<const Op> operands,
                 const absl::Status& status) {
  std::vector<std::string> shapes;
  for (const Op& op : operands) shapes.push_back(op.shape().ToString(false));
  ReportError(absl::InvalidArgumentError(kiln::StrCat(
      std::string(op_name), "(", absl::StrJoin(shapes, ", "), ") in computation '", computation_->name(),
      "': ", status.message())));
  return Op();
}

bool Builder::CheckOperands(std::string_view op_name, absl::Span<const Op> operands) {
  for (const Op& op : operands) {
    if (!op.valid()) {
      // An earlier error is the cause; record one only when there was none (default Op).
      if (state_->first_error.ok()) {
        ReportError(absl::InvalidArgumentError(
            kiln::StrCat(std::string(op_name), ": an operand is an invalid (default-constructed) Op")));
      }
      return false;
    }
    if (op.builder_ != this) {
      ReportError(absl::InvalidArgumentError(kiln::StrCat(
          std::string(op_name), ": operand %", op.instruction_->name(), " belongs to another builder")));
      return false;
    }
  }
  return true;
}

Op Builder::Emit(std::unique_ptr<Instruction> instruction) {
  return Op(this, computation_->AddInstruction(std::move(instruction)));
}

Op Builder::AddInstruction(std::unique_ptr<Instruction> instruction) {
  for (Instruction* op : instruction->operands()) {
    if (op->parent() != computation_.get()) {
      ReportError(absl::InvalidArgumentError(kiln::StrCat(
          std::string(OpcodeString(instruction->opcode())), ": operand %", op->name(), " is not in this builder")));
      return Op();
    }
  }
  return Emit(std::move(instruction));
}

namespace {
std::vector<Instruction*> Instrs(absl::Span<const Op> ops) {
  std::vector<Instruction*> out;
  for (const Op& op : ops) out.push_back(op.instruction());
  return out;
}
}  // namespace

// Infers the shape of a detached instruction; records an error or emits it.
#define KILN_BUILDER_FINISH_(instr, op_name, operands)                          \
  do {                                                                          \
    absl::StatusOr<Shape> shape_or = InferShape(*instr);                        \
    if (!shape_or.ok()) {                                                       \
      instr->DetachOperands();                                                  \
      return Fail(op_name, operands, shape_or.status());                        \
    }                                                                           \
    *instr->mutable_shape() = *std::move(shape_or);                             \
    return Emit(std::move(instr));                                              \
  } while (0)

Computation* Builder::BuildSubComputation(Op root) {
  if (!root.valid()) {
    if (state_->first_error.ok()) {
      ReportError(absl::InvalidArgumentError(
          kiln::StrCat("sub-computation '", computation_->name(), "' has an invalid root")));
    }
    return nullptr;
  }
  computation_->set_root_instruction(root.instruction());
  return state_->module->AddEmbeddedComputation(std::move(computation_));
}

Computation* Builder::ScalarComputation(Opcode binary, PrimitiveType type) {
  auto key = std::make_pair(binary, type);
  auto it = state_->scalar_computations.find(key);
  if (it != state_->scalar_computations.end()) return it->second;
  std::unique_ptr<Builder> sub = CreateSubBuilder(
      kiln::StrCat(std::string(OpcodeString(binary)), "_", std::string(PrimitiveTypeName(type))));
  Shape s = ShapeUtil::MakeScalarShape(type);
  Op x = sub->Parameter(0, s, "x");
  Op y = sub->Parameter(1, s, "y");
  Computation* c = sub->BuildSubComputation(sub->Binary(binary, x, y));
  state_->scalar_computations[key] = c;
  return c;
}

absl::StatusOr<std::unique_ptr<Module>> Builder::Build(Op root) {
  if (!state_->first_error.ok()) return state_->first_error;
  if (!root.valid() || root.builder_ != this) {
    return absl::InvalidArgumentError(
        kiln::StrCat("Build('", computation_->name(), "'): the root is not an Op of this builder"));
  }
  if (state_->module == nullptr) {
    return absl::FailedPreconditionError("Build() called twice on one builder");
  }
  computation_->set_root_instruction(root.instruction());
  for (int64_t i = 0; i < computation_->num_parameters(); ++i) {
    if (computation_->parameter_instruction(i) == nullptr) {
      return absl::InvalidArgumentError(kiln::StrCat(
          "Build('", computation_->name(), "'): parameter ", i, " is missing (parameters must be "
          "numbered 0..n-1)"));
    }
  }
  state_->module->AddEntryComputation(std::move(computation_));
  std::unique_ptr<Module> module = std::move(state_->module);
  KILN_RETURN_IF_ERROR(Annotate(VerifyModule(*module), "Build: verifier"));
  return module;
}

// --- Leaves -------------------------------------------------------------------------------------

Op Builder::Parameter(int64_t number, const Shape& shape, std::string_view name) {
  absl::Status s = ShapeUtil::ValidateShape(shape);
  if (s.ok() && number < 0) s = absl::InvalidArgumentError("negative parameter number");
  if (s.ok() && number < computation_->num_parameters() &&
      computation_->parameter_instruction(number) != nullptr) {
    s = absl::InvalidArgumentError(kiln::StrCat("parameter ", number, " defined twice"));
  }
  if (!s.ok()) return Fail(kiln::StrCat("parameter ", number, " '", std::string(name), "'"), {}, s);
  return Emit(Instruction::CreateParameter(number, shape, std::string(name)));
}

Op Builder::ConstantLiteral(Literal literal) {
  if (!literal.valid()) {
    return Fail("constant", {}, absl::InvalidArgumentError("invalid literal"));
  }
  return Emit(Instruction::CreateConstant(std::move(literal)));
}

Op Builder::ConstantScalar(PrimitiveType type, double value) {
  if (!IsArrayType(type)) {
    return Fail("constant", {}, absl::InvalidArgumentError("not an array element type"));
  }
  Literal lit(ShapeUtil::MakeScalarShape(type));
  lit.SetFromDouble(0, value);
  return ConstantLiteral(std::move(lit));
}

Op Builder::Iota(const Shape& shape, int64_t iota_dimension) {
  auto instr = Instruction::Create(Opcode::kIota, shape, {});
  instr->set_dimensions({iota_dimension});
  KILN_BUILDER_FINISH_(instr, "iota", {});
}

// --- Elementwise --------------------------------------------------------------------------------

Op Builder::Unary(Opcode opcode, Op operand) {
  std::string name(OpcodeString(opcode));
  if (!CheckOperands(name, {operand})) return Op();
  auto instr = Instruction::Create(opcode, Shape(), {operand.instruction()});
  KILN_BUILDER_FINISH_(instr, name, {operand});
}

Op Builder::BroadcastTo(Op operand, const Shape& shape,
                        absl::Span<const int64_t> broadcast_dimensions) {
  const Shape& s = operand.shape();
  if (s.dimensions() == shape.dimensions()) return operand;
  // Drop degenerate dimensions that stretch, then broadcast the rest.
  std::vector<int64_t> kept_dims, kept_map;
  for (int64_t i = 0; i < s.rank(); ++i) {
    int64_t target = shape.dimensions(broadcast_dimensions[i]);
    if (s.dimensions(i) == target) {
      kept_dims.push_back(s.dimensions(i));
      kept_map.push_back(broadcast_dimensions[i]);
    }
  }
  Op src = operand;
  if (static_cast<int64_t>(kept_dims.size()) != s.rank()) src = Reshape(operand, kept_dims);
  if (!src.valid()) return Op();
  auto instr = Instruction::Create(
      Opcode::kBroadcast, ShapeUtil::MakeShape(s.element_type(), shape.dimensions()),
      {src.instruction()});
  instr->set_dimensions(kept_map);
  KILN_BUILDER_FINISH_(instr, "broadcast", {src});
}

namespace {
// Broadcast dimensions mapping `small` into a result of rank `rank`.
std::vector<int64_t> Mapping(const Shape& small, int64_t rank,
                             absl::Span<const int64_t> broadcast_dimensions) {
  if (small.rank() == 0) return {};
  if (small.rank() == rank) {
    std::vector<int64_t> m(rank);
    for (int64_t i = 0; i < rank; ++i) m[i] = i;
    return m;
  }
  return ToVec(broadcast_dimensions);
}
}  // namespace

Op Builder::Binary(Opcode opcode, Op lhs, Op rhs, absl::Span<const int64_t> broadcast_dimensions) {
  std::string name(OpcodeString(opcode));
  if (!CheckOperands(name, {lhs, rhs})) return Op();
  if (lhs.shape().element_type() != rhs.shape().element_type()) {
    return Fail(name, {lhs, rhs},
                absl::InvalidArgumentError("element types differ (convert one operand first)"));
  }
  absl::StatusOr<Shape> out = InferBroadcastShape(lhs.shape(), rhs.shape(), broadcast_dimensions);
  if (!out.ok()) return Fail(name, {lhs, rhs}, out.status());
  Op l = BroadcastTo(lhs, *out, Mapping(lhs.shape(), out->rank(), broadcast_dimensions));
  Op r = BroadcastTo(rhs, *out, Mapping(rhs.shape(), out->rank(), broadcast_dimensions));
  if (!l.valid() || !r.valid()) return Op();
  auto instr = Instruction::Create(opcode, Shape(), {l.instruction(), r.instruction()});
  KILN_BUILDER_FINISH_(instr, name, (std::vector<Op>{lhs, rhs}));
}

Op Builder::Compare(Op lhs, Op rhs, ComparisonDirection direction,
                    absl::Span<const int64_t> broadcast_dimensions) {
  Op out = Binary(Opcode::kCompare, lhs, rhs, broadcast_dimensions);
  if (out.valid()) out.instruction()->set_comparison_direction(direction);
  return out;
}

Op Builder::Select(Op pred, Op on_true, Op on_false) {
  if (!CheckOperands("select", {pred, on_true, on_false})) return Op();
  auto instr = Instruction::Create(
      Opcode::kSelect, Shape(), {pred.instruction(), on_true.instruction(), on_false.instruction()});
  KILN_BUILDER_FINISH_(instr, "select", (std::vector<Op>{pred, on_true, on_false}));
}

Op Builder::Clamp(Op lo, Op x, Op hi) {
  if (!CheckOperands("clamp", {lo, x, hi})) return Op();
  auto instr = Instruction::Create(Opcode::kClamp, Shape(),
                                   {lo.instruction(), x.instruction(), hi.instruction()});
  KILN_BUILDER_FINISH_(instr, "clamp", (std::vector<Op>{lo, x, hi}));
}

// --- Shape manipulation -------------------------------------------------------------------------

Op Builder::Broadcast(Op operand, absl::Span<const int64_t> broadcast_sizes) {
  if (!CheckOperands("broadcast", {operand})) return Op();
  std::vector<int64_t> dims = ToVec(broadcast_sizes);
  std::vector<int64_t> map;
  for (int64_t i = 0; i < operand.shape().rank(); ++i) {
    map.push_back(static_cast<int64_t>(dims.size()));
    dims.push_back(operand.shape().dimensions(i));
  }
  for (int64_t d : broadcast_sizes) {
    if (d < 0) {
      return Fail("broadcast", {operand}, absl::InvalidArgumentError("negative broadcast size"));
    }
  }
  auto instr = Instruction::Create(
      Opcode::kBroadcast, ShapeUtil::MakeShape(operand.shape().element_type(), dims),
      {operand.instruction()});
  instr->set_dimensions(map);
  KILN_BUILDER_FINISH_(instr, "broadcast", {operand});
}

Op Builder::BroadcastInDim(Op operand, absl::Span<const int64_t> out_dimensions,
                           absl::Span<const int64_t> broadcast_dimensions) {
  if (!CheckOperands("broadcast_in_dim", {operand})) return Op();
  const Shape& s = operand.shape();
  auto fail = [&](auto&&... parts) {
    return Fail(kiln::StrCat("broadcast_in_dim to [", absl::StrJoin(out_dimensions, ","),
                             "] with dimensions {", absl::StrJoin(broadcast_dimensions, ","), "}"),
                {operand}, absl::InvalidArgumentError(kiln::StrCat(parts...)));
  };
  if (static_cast<int64_t>(broadcast_dimensions.size()) != s.rank()) {
    return fail("needs one broadcast dimension per operand dimension");
  }
  for (int64_t d : out_dimensions) {
    if (d < 0) return fail("negative output dimension");
  }
  for (int64_t i = 0; i < s.rank(); ++i) {
    int64_t d = broadcast_dimensions[i];
    if (d < 0 || d >= static_cast<int64_t>(out_dimensions.size())) {
      return fail("broadcast dimension ", d, " out of range");
    }
    if (i > 0 && d <= broadcast_dimensions[i - 1]) {
      return fail("broadcast dimensions must be strictly increasing");
    }
    if (s.dimensions(i) != 1 && s.dimensions(i) != out_dimensions[d]) {
      return fail("operand dimension ", i, " (", s.dimensions(i), ") is neither 1 nor ",
                  out_dimensions[d]);
    }
  }
  Shape target = ShapeUtil::MakeShape(s.element_type(), out_dimensions);
  if (s.rank() == target.rank() && s.dimensions() == target.dimensions()) {
    bool identity = true;
    for (int64_t i = 0; i < s.rank(); ++i) identity &= broadcast_dimensions[i] == i;
    if (identity) return operand;
  }
  const Shape src_shape = s;
  // BroadcastTo returns the operand unchanged only for equal dimensions; force a broadcast
  // instruction when dimensions match but the mapping is not the identity.
  if (src_shape.dimensions() == target.dimensions()) {
    auto instr = Instruction::Create(Opcode::kBroadcast, target, {operand.instruction()});
    instr->set_dimensions(ToVec(broadcast_dimensions));
    KILN_BUILDER_FINISH_(instr, "broadcast", {operand});
  }
  return BroadcastTo(operand, target, broadcast_dimensions);
}

Op Builder::Reshape(Op operand, absl::Span<const int64_t> new_sizes) {
  if (!CheckOperands("reshape", {operand})) return Op();
  for (int64_t d : new_sizes) {
    if (d < 0) {
      return Fail(kiln::StrCat("reshape to [", absl::StrJoin(new_sizes, ","), "]"), {operand},
                  absl::InvalidArgumentError("negative dimension"));
    }
  }
  auto instr = Instruction::Create(
      Opcode::kReshape, ShapeUtil::MakeShape(operand.shape().element_type(), new_sizes),
      {operand.instruction()});
  KILN_BUILDER_FINISH_(instr, kiln::StrCat("reshape to [", absl::StrJoin(new_sizes, ","), "]"),
                       {operand});
}

Op Builder::Transpose(Op operand, absl::Span<const int64_t> permutation) {
  if (!CheckOperands("transpose", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kTranspose, Shape(), {operand.instruction()});
  instr->set_dimensions(ToVec(permutation));
  KILN_BUILDER_FINISH_(instr, "transpose", {operand});
}

Op Builder::Slice(Op operand, absl::Span<const int64_t> start_indices,
                  absl::Span<const int64_t> limit_indices, absl::Span<const int64_t> strides) {
  if (!CheckOperands("slice", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kSlice, Shape(), {operand.instruction()});
  instr->set_slice(ToVec(start_indices), ToVec(limit_indices), ToVec(strides));
  KILN_BUILDER_FINISH_(instr, "slice", {operand});
}

Op Builder::SliceInDim(Op operand, int64_t start, int64_t limit, int64_t stride,
                       int64_t dimension) {
  if (!CheckOperands("slice", {operand})) return Op();
  const Shape& s = operand.shape();
  if (dimension < 0 || dimension >= s.rank()) {
    return Fail("slice", {operand}, absl::InvalidArgumentError("dimension out of range"));
  }
  std::vector<int64_t> starts(s.rank(), 0), limits = s.dimensions(), strides(s.rank(), 1);
  starts[dimension] = start;
  limits[dimension] = limit;
  strides[dimension] = stride;
  return Slice(operand, starts, limits, strides);
}

Op Builder::DynamicSlice(Op operand, absl::Span<const Op> start_indices,
                         absl::Span<const int64_t> slice_sizes) {
  std::vector<Op> all = {operand};
  all.insert(all.end(), start_indices.begin(), start_indices.end());
  if (!CheckOperands("dynamic-slice", all)) return Op();
  auto instr = Instruction::Create(Opcode::kDynamicSlice, Shape(), Instrs(all));
  instr->set_slice_sizes(ToVec(slice_sizes));
  KILN_BUILDER_FINISH_(instr, "dynamic-slice", all);
}

Op Builder::DynamicUpdateSlice(Op operand, Op update, absl::Span<const Op> start_indices) {
  std::vector<Op> all = {operand, update};
  all.insert(all.end(), start_indices.begin(), start_indices.end());
  if (!CheckOperands("dynamic-update-slice", all)) return Op();
  auto instr = Instruction::Create(Opcode::kDynamicUpdateSlice, Shape(), Instrs(all));
  KILN_BUILDER_FINISH_(instr, "dynamic-update-slice", all);
}

Op Builder::ConcatInDim(absl::Span<const Op> operands, int64_t dimension) {
  if (!CheckOperands("concatenate", operands)) return Op();
  auto instr = Instruction::Create(Opcode::kConcatenate, Shape(), Instrs(operands));
  instr->set_dimensions({dimension});
  KILN_BUILDER_FINISH_(instr, "concatenate", operands);
}

Op Builder::Pad(Op operand, Op padding_value, const PaddingConfig& padding_config) {
  if (!CheckOperands("pad", {operand, padding_value})) return Op();
  auto instr = Instruction::Create(Opcode::kPad, Shape(),
                                   {operand.instruction(), padding_value.instruction()});
  instr->set_padding_config(padding_config);
  KILN_BUILDER_FINISH_(instr, "pad", (std::vector<Op>{operand, padding_value}));
}

Op Builder::Reverse(Op operand, absl::Span<const int64_t> dimensions) {
  if (!CheckOperands("reverse", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kReverse, Shape(), {operand.instruction()});
  instr->set_dimensions(ToVec(dimensions));
  KILN_BUILDER_FINISH_(instr, "reverse", {operand});
}

Op Builder::ConvertElementType(Op operand, PrimitiveType new_type) {
  if (!CheckOperands("convert", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kConvert, ShapeUtil::MakeScalarShape(new_type),
                                   {operand.instruction()});
  KILN_BUILDER_FINISH_(instr, "convert", {operand});
}

Op Builder::BitcastConvertType(Op operand, PrimitiveType new_type) {
  if (!CheckOperands("bitcast-convert", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kBitcastConvert, ShapeUtil::MakeScalarShape(new_type),
                                   {operand.instruction()});
  KILN_BUILDER_FINISH_(instr, "bitcast-convert", {operand});
}

Op Builder::ReducePrecision(Op operand, int64_t exponent_bits, int64_t mantissa_bits) {
  if (!CheckOperands("reduce-precision", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kReducePrecision, Shape(), {operand.instruction()});
  instr->set_reduce_precision(exponent_bits, mantissa_bits);
  KILN_BUILDER_FINISH_(instr, "reduce-precision", {operand});
}

// --- Contractions -------------------------------------------------------------------------------

Op Builder::Dot(Op lhs, Op rhs, std::optional<PrimitiveType> preferred_element_type) {
  if (!CheckOperands("dot", {lhs, rhs})) return Op();
  DotDimensionNumbers d;
  int64_t lr = lhs.shape().rank(), rr = rhs.shape().rank();
  if (lr < 1 || lr > 2 || rr < 1 || rr > 2) {
    return Fail("dot", {lhs, rhs},
                absl::InvalidArgumentError("Dot takes rank-1 or rank-2 operands; use DotGeneral"));
  }
  d.lhs_contracting_dimensions = {lr - 1};
  d.rhs_contracting_dimensions = {0};
  return DotGeneral(lhs, rhs, d, preferred_element_type);
}

Op Builder::DotGeneral(Op lhs, Op rhs, const DotDimensionNumbers& dimension_numbers,
                       std::optional<PrimitiveType> preferred_element_type) {
  if (!CheckOperands("dot", {lhs, rhs})) return Op();
  Shape given;
  if (preferred_element_type) {
    given = ShapeUtil::MakeScalarShape(*preferred_element_type);
  }
  auto instr = Instruction::Create(Opcode::kDot, given, {lhs.instruction(), rhs.instruction()});
  instr->set_dot_dimension_numbers(dimension_numbers);
  KILN_BUILDER_FINISH_(instr, "dot", (std::vector<Op>{lhs, rhs}));
}

Op Builder::ConvGeneralDilated(Op lhs, Op rhs, absl::Span<const int64_t> window_strides,
                               absl::Span<const PaddingPair> padding,
                               absl::Span<const int64_t> lhs_dilation,
                               absl::Span<const int64_t> rhs_dilation,
                               const ConvolutionDimensionNumbers& dimension_numbers,
                               int64_t feature_group_count, int64_t batch_group_count,
                               std::optional<PrimitiveType> preferred_element_type) {
  if (!CheckOperands("convolution", {lhs, rhs})) return Op();
  size_t ns = dimension_numbers.kernel_spatial_dimensions.size();
  auto bad = [&](std::string_view what) {
    return Fail("convolution", {lhs, rhs},
                absl::InvalidArgumentError(kiln::StrCat(std::string(what), " must have ", ns, " entries (one per "
                                                        "spatial dimension) or be empty")));
  };
  if (window_strides.size() != ns && !window_strides.empty()) return bad("window_strides");
  if (padding.size() != ns && !padding.empty()) return bad("padding");
  if (lhs_dilation.size() != ns && !lhs_dilation.empty()) return bad("lhs_dilation");
  if (rhs_dilation.size() != ns && !rhs_dilation.empty()) return bad("rhs_dilation");
  const Shape& k = rhs.shape();
  Window window;
  for (size_t i = 0; i < ns; ++i) {
    WindowDimension w;
    int64_t kd = dimension_numbers.kernel_spatial_dimensions[i];
    w.size = kd >= 0 && kd < k.rank() ? k.dimensions(kd) : 0;
    if (!window_strides.empty()) w.stride = window_strides[i];
    if (!padding.empty()) {
      w.padding_low = padding[i].first;
      w.padding_high = padding[i].second;
    }
    if (!lhs_dilation.empty()) w.base_dilation = lhs_dilation[i];
    if (!rhs_dilation.empty()) w.window_dilation = rhs_dilation[i];
    window.dimensions.push_back(w);
  }
  Shape given;
  if (preferred_element_type) given = ShapeUtil::MakeScalarShape(*preferred_element_type);
  auto instr =
      Instruction::Create(Opcode::kConvolution, given, {lhs.instruction(), rhs.instruction()});
  instr->set_window(std::move(window));
  instr->set_convolution_dimension_numbers(dimension_numbers);
  instr->set_feature_group_count(feature_group_count);
  instr->set_batch_group_count(batch_group_count);
  KILN_BUILDER_FINISH_(instr, "convolution", (std::vector<Op>{lhs, rhs}));
}

// --- Reductions and windows ---------------------------------------------------------------------

namespace {
Window MakeWindow(absl::Span<const int64_t> sizes, absl::Span<const int64_t> strides,
                  absl::Span<const int64_t> base_dilations,
                  absl::Span<const int64_t> window_dilations, absl::Span<const PaddingPair> padding) {
  Window w;
  for (size_t i = 0; i < sizes.size(); ++i) {
    WindowDimension d;
    d.size = sizes[i];
    if (i < strides.size()) d.stride = strides[i];
    if (i < base_dilations.size()) d.base_dilation = base_dilations[i];
    if (i < window_dilations.size()) d.window_dilation = window_dilations[i];
    if (i < padding.size()) {
      d.padding_low = padding[i].first;
      d.padding_high = padding[i].second;
    }
    w.dimensions.push_back(d);
  }
  return w;
}
}  // namespace

Op Builder::Reduce(absl::Span<const Op> operands, absl::Span<const Op> init_values,
                   const Computation* computation, absl::Span<const int64_t> dimensions_to_reduce) {
  std::vector<Op> all(operands.begin(), operands.end());
  all.insert(all.end(), init_values.begin(), init_values.end());
  if (!CheckOperands("reduce", all)) return Op();
  if (computation == nullptr) {
    return Fail("reduce", all, absl::InvalidArgumentError("null computation"));
  }
  auto instr = Instruction::Create(Opcode::kReduce, Shape(), Instrs(all));
  instr->set_dimensions(ToVec(dimensions_to_reduce));
  instr->set_called_computations({const_cast<Computation*>(computation)});
  KILN_BUILDER_FINISH_(instr, "reduce", all);
}

Op Builder::ReduceWindow(absl::Span<const Op> operands, absl::Span<const Op> init_values,
                         const Computation* computation,
                         absl::Span<const int64_t> window_dimensions,
                         absl::Span<const int64_t> window_strides,
                         absl::Span<const int64_t> base_dilations,
                         absl::Span<const int64_t> window_dilations,
                         absl::Span<const PaddingPair> padding) {
  std::vector<Op> all(operands.begin(), operands.end());
  all.insert(all.end(), init_values.begin(), init_values.end());
  if (!CheckOperands("reduce-window", all)) return Op();
  if (computation == nullptr) {
    return Fail("reduce-window", all, absl::InvalidArgumentError("null computation"));
  }
  size_t rank = operands.empty() ? 0 : operands[0].shape().rank();
  if (window_dimensions.size() != rank || (!window_strides.empty() && window_strides.size() != rank) ||
      (!padding.empty() && padding.size() != rank) ||
      (!base_dilations.empty() && base_dilations.size() != rank) ||
      (!window_dilations.empty() && window_dilations.size() != rank)) {
    return Fail("reduce-window", all,
                absl::InvalidArgumentError(kiln::StrCat(
                    "window sizes, strides, dilations and padding need one entry per operand "
                    "dimension (", rank, ")")));
  }
  auto instr = Instruction::Create(Opcode::kReduceWindow, Shape(), Instrs(all));
  instr->set_window(
      MakeWindow(window_dimensions, window_strides, base_dilations, window_dilations, padding));
  instr->set_called_computations({const_cast<Computation*>(computation)});
  KILN_BUILDER_FINISH_(instr, "reduce-window", all);
}

Op Builder::SelectAndScatter(Op operand, const Computation* select,
                             absl::Span<const int64_t> window_dimensions,
                             absl::Span<const int64_t> window_strides,
                             absl::Span<const PaddingPair> padding, Op source, Op init_value,
                             const Computation* scatter) {
  std::vector<Op> all = {operand, source, init_value};
  if (!CheckOperands("select-and-scatter", all)) return Op();
  if (select == nullptr || scatter == nullptr) {
    return Fail("select-and-scatter", all, absl::InvalidArgumentError("null computation"));
  }
  if (window_dimensions.size() != static_cast<size_t>(operand.shape().rank())) {
    return Fail("select-and-scatter", all,
                absl::InvalidArgumentError("window needs one entry per operand dimension"));
  }
  auto instr = Instruction::Create(Opcode::kSelectAndScatter, Shape(), Instrs(all));
  instr->set_window(MakeWindow(window_dimensions, window_strides, {}, {}, padding));
  instr->set_called_computations(
      {const_cast<Computation*>(select), const_cast<Computation*>(scatter)});
  KILN_BUILDER_FINISH_(instr, "select-and-scatter", all);
}

// --- Indexing, sorting, mapping -----------------------------------------------------------------

Op Builder::Gather(Op operand, Op start_indices, const GatherDimensionNumbers& dimension_numbers,
                   absl::Span<const int64_t> slice_sizes, bool indices_are_sorted) {
  if (!CheckOperands("gather", {operand, start_indices})) return Op();
  auto instr = Instruction::Create(Opcode::kGather, Shape(),
                                   {operand.instruction(), start_indices.instruction()});
  instr->set_gather_dimension_numbers(dimension_numbers);
  instr->set_slice_sizes(ToVec(slice_sizes));
  instr->set_indices_are_sorted(indices_are_sorted);
  KILN_BUILDER_FINISH_(instr, "gather", (std::vector<Op>{operand, start_indices}));
}

Op Builder::Scatter(absl::Span<const Op> operands, Op scatter_indices, absl::Span<const Op> updates,
                    const Computation* update_computation,
                    const ScatterDimensionNumbers& dimension_numbers, bool indices_are_sorted,
                    bool unique_indices) {
  std::vector<Op> all(operands.begin(), operands.end());
  all.push_back(scatter_indices);
  all.insert(all.end(), updates.begin(), updates.end());
  if (!CheckOperands("scatter", all)) return Op();
  if (update_computation == nullptr || operands.size() != updates.size()) {
    return Fail("scatter", all,
                absl::InvalidArgumentError("needs a computation and one update per operand"));
  }
  auto instr = Instruction::Create(Opcode::kScatter, Shape(), Instrs(all));
  instr->set_scatter_dimension_numbers(dimension_numbers);
  instr->set_indices_are_sorted(indices_are_sorted);
  instr->set_unique_indices(unique_indices);
  instr->set_called_computations({const_cast<Computation*>(update_computation)});
  KILN_BUILDER_FINISH_(instr, "scatter", all);
}

Op Builder::Sort(absl::Span<const Op> operands, const Computation* comparator, int64_t dimension,
                 bool is_stable) {
  if (!CheckOperands("sort", operands)) return Op();
  if (comparator == nullptr || operands.empty()) {
    return Fail("sort", operands, absl::InvalidArgumentError("needs operands and a comparator"));
  }
  if (dimension < 0) dimension += operands[0].shape().rank();
  auto instr = Instruction::Create(Opcode::kSort, Shape(), Instrs(operands));
  instr->set_dimensions({dimension});
  instr->set_is_stable(is_stable);
  instr->set_called_computations({const_cast<Computation*>(comparator)});
  KILN_BUILDER_FINISH_(instr, "sort", operands);
}

Op Builder::Map(absl::Span<const Op> operands, const Computation* computation,
                absl::Span<const int64_t> dimensions) {
  if (!CheckOperands("map", operands)) return Op();
  if (computation == nullptr || operands.empty()) {
    return Fail("map", operands, absl::InvalidArgumentError("needs operands and a computation"));
  }
  std::vector<int64_t> dims = ToVec(dimensions);
  if (dims.empty()) {
    for (int64_t i = 0; i < operands[0].shape().rank(); ++i) dims.push_back(i);
  }
  auto instr = Instruction::Create(Opcode::kMap, Shape(), Instrs(operands));
  instr->set_dimensions(dims);
  instr->set_called_computations({const_cast<Computation*>(computation)});
  KILN_BUILDER_FINISH_(instr, "map", operands);
}

// --- Control flow and tuples --------------------------------------------------------------------

Op Builder::Call(const Computation* computation, absl::Span<const Op> operands) {
  if (!CheckOperands("call", operands)) return Op();
  if (computation == nullptr) return Fail("call", operands, absl::InvalidArgumentError("null computation"));
  auto instr = Instruction::Create(Opcode::kCall, Shape(), Instrs(operands));
  instr->set_called_computations({const_cast<Computation*>(computation)});
  KILN_BUILDER_FINISH_(instr, "call", operands);
}

Op Builder::While(const Computation* condition, const Computation* body, Op init) {
  if (!CheckOperands("while", {init})) return Op();
  if (condition == nullptr || body == nullptr) {
    return Fail("while", {init}, absl::InvalidArgumentError("null computation"));
  }
  auto instr = Instruction::Create(Opcode::kWhile, Shape(), {init.instruction()});
  instr->set_called_computations(
      {const_cast<Computation*>(condition), const_cast<Computation*>(body)});
  KILN_BUILDER_FINISH_(instr, "while", {init});
}

Op Builder::Conditional(Op branch_index, absl::Span<const Computation* const> branch_computations,
                        absl::Span<const Op> branch_operands) {
  std::vector<Op> all = {branch_index};
  all.insert(all.end(), branch_operands.begin(), branch_operands.end());
  if (!CheckOperands("conditional", all)) return Op();
  std::vector<Computation*> comps;
  for (const Computation* c : branch_computations) {
    if (c == nullptr) return Fail("conditional", all, absl::InvalidArgumentError("null branch"));
    comps.push_back(const_cast<Computation*>(c));
  }
  auto instr = Instruction::Create(Opcode::kConditional, Shape(), Instrs(all));
  instr->set_called_computations(std::move(comps));
  KILN_BUILDER_FINISH_(instr, "conditional", all);
}

Op Builder::Tuple(absl::Span<const Op> elements) {
  if (!CheckOperands("tuple", elements)) return Op();
  auto instr = Instruction::Create(Opcode::kTuple, Shape(), Instrs(elements));
  KILN_BUILDER_FINISH_(instr, "tuple", elements);
}

Op Builder::GetTupleElement(Op tuple, int64_t index) {
  if (!CheckOperands("get-tuple-element", {tuple})) return Op();
  auto instr = Instruction::Create(Opcode::kGetTupleElement, Shape(), {tuple.instruction()});
  instr->set_tuple_index(index);
  KILN_BUILDER_FINISH_(instr, kiln::StrCat("get-tuple-element ", index), {tuple});
}

// --- Random numbers, normalization, quantization, extensions ------------------------------------

Op Builder::RngBitGenerator(RandomAlgorithm algorithm, Op initial_state, const Shape& shape) {
  if (!CheckOperands("rng-bit-generator", {initial_state})) return Op();
  auto instr = Instruction::Create(Opcode::kRngBitGenerator,
                                   ShapeUtil::MakeTupleShape({initial_state.shape(), shape}),
                                   {initial_state.instruction()});
  instr->set_rng_algorithm(algorithm);
  KILN_BUILDER_FINISH_(instr, "rng-bit-generator", {initial_state});
}

Op Builder::BatchNormInference(Op operand, Op scale, Op offset, Op mean, Op variance,
                               float epsilon, int64_t feature_index) {
  std::vector<Op> all = {operand, scale, offset, mean, variance};
  if (!CheckOperands("batch-norm-inference", all)) return Op();
  auto instr = Instruction::Create(Opcode::kBatchNormInference, Shape(), Instrs(all));
  instr->set_epsilon(epsilon);
  instr->set_feature_index(feature_index);
  KILN_BUILDER_FINISH_(instr, "batch-norm-inference", all);
}

Op Builder::BatchNormTraining(Op operand, Op scale, Op offset, float epsilon,
                              int64_t feature_index) {
  std::vector<Op> all = {operand, scale, offset};
  if (!CheckOperands("batch-norm-training", all)) return Op();
  auto instr = Instruction::Create(Opcode::kBatchNormTraining, Shape(), Instrs(all));
  instr->set_epsilon(epsilon);
  instr->set_feature_index(feature_index);
  KILN_BUILDER_FINISH_(instr, "batch-norm-training", all);
}

Op Builder::BatchNormGrad(Op operand, Op scale, Op mean, Op variance, Op grad_output,
                          float epsilon, int64_t feature_index) {
  std::vector<Op> all = {operand, scale, mean, variance, grad_output};
  if (!CheckOperands("batch-norm-grad", all)) return Op();
  auto instr = Instruction::Create(Opcode::kBatchNormGrad, Shape(), Instrs(all));
  instr->set_epsilon(epsilon);
  instr->set_feature_index(feature_index);
  KILN_BUILDER_FINISH_(instr, "batch-norm-grad", all);
}

Op Builder::UniformQuantize(Op operand, PrimitiveType storage_type,
                            const QuantizationParams& params) {
  if (!CheckOperands("uniform-quantize", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kUniformQuantize,
                                   ShapeUtil::MakeScalarShape(storage_type), {operand.instruction()});
  instr->set_quantization(params);
  KILN_BUILDER_FINISH_(instr, "uniform-quantize", {operand});
}

Op Builder::UniformDequantize(Op operand, PrimitiveType expressed_type,
                              const QuantizationParams& params) {
  if (!CheckOperands("uniform-dequantize", {operand})) return Op();
  auto instr = Instruction::Create(Opcode::kUniformDequantize,
                                   ShapeUtil::MakeScalarShape(expressed_type),
                                   {operand.instruction()});
  instr->set_quantization(params);
  KILN_BUILDER_FINISH_(instr, "uniform-dequantize", {operand});
}

Op Builder::CustomCall(std::string_view target, absl::Span<const Op> operands, const Shape& shape,
                       std::string_view backend_config) {
  if (!CheckOperands("custom-call", operands)) return Op();
  auto instr = Instruction::Create(Opcode::kCustomCall, shape, Instrs(operands));
  instr->set_custom_call_target(std::string(target));
  instr->set_backend_config(std::string(backend_config));
  KILN_BUILDER_FINISH_(instr, kiln::StrCat("custom-call \"", std::string(target), "\""), operands);
}

}  // namespace kiln::hlo
