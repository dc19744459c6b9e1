#include "kiln/hlo/instruction.h"

#include "kiln/support/strings.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_join.h"
#include "kiln/hlo/computation.h"

namespace kiln::hlo {
namespace {

constexpr std::string_view kDirectionNames[] = {"EQ", "NE", "GE", "GT", "LE", "LT"};
constexpr std::string_view kRngNames[] = {"rng_default", "rng_three_fry", "rng_philox"};

std::string Braced(const std::vector<int64_t>& v) {
  return kiln::StrCat("{", absl::StrJoin(v, ","), "}");
}

std::string ShortestDouble(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string ShortestFloat(float v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

}  // namespace

ConvolutionDimensionNumbers ConvolutionDimensionNumbers::Nchw(int64_t num_spatial) {
  ConvolutionDimensionNumbers d;
  d.input_batch_dimension = 0;
  d.input_feature_dimension = 1;
  d.kernel_output_feature_dimension = 0;
  d.kernel_input_feature_dimension = 1;
  d.output_batch_dimension = 0;
  d.output_feature_dimension = 1;
  for (int64_t i = 0; i < num_spatial; ++i) {
    d.input_spatial_dimensions.push_back(2 + i);
    d.kernel_spatial_dimensions.push_back(2 + i);
    d.output_spatial_dimensions.push_back(2 + i);
  }
  return d;
}

std::string_view ComparisonDirectionString(ComparisonDirection direction) {
  return kDirectionNames[static_cast<int>(direction)];
}

absl::StatusOr<ComparisonDirection> ParseComparisonDirection(std::string_view text) {
  for (int i = 0; i < 6; ++i) {
    if (kDirectionNames[i] == text) return static_cast<ComparisonDirection>(i);
  }
  return absl::InvalidArgumentError(kiln::StrCat("unknown comparison direction '", std::string(text), "'"));
}

namespace {
constexpr std::string_view kComparisonTypeNames[] = {"", "FLOAT", "TOTALORDER", "SIGNED",
                                                     "UNSIGNED"};
}  // namespace

std::string_view ComparisonTypeString(ComparisonType type) {
  return kComparisonTypeNames[static_cast<int>(type)];
}

absl::StatusOr<ComparisonType> ParseComparisonType(std::string_view text) {
  for (int i = 1; i < 5; ++i) {
    if (kComparisonTypeNames[i] == text) return static_cast<ComparisonType>(i);
  }
  return absl::InvalidArgumentError(
      kiln::StrCat("unknown comparison type '", std::string(text), "'"));
}

std::string_view RandomAlgorithmString(RandomAlgorithm algorithm) {
  return kRngNames[static_cast<int>(algorithm)];
}

std::string_view FusionKindString(FusionKind kind) {
  return kind == FusionKind::kOutput ? "kOutput" : "kLoop";
}

absl::StatusOr<FusionKind> ParseFusionKind(std::string_view text) {
  if (text == "kLoop") return FusionKind::kLoop;
  if (text == "kOutput") return FusionKind::kOutput;
  return absl::InvalidArgumentError(
      kiln::StrCat("unknown fusion kind '", std::string(text), "' (kLoop or kOutput)"));
}

std::unique_ptr<Instruction> Instruction::Create(Opcode opcode, Shape shape,
                                                 std::vector<Instruction*> operands) {
  std::unique_ptr<Instruction> instr(new Instruction(opcode, std::move(shape)));
  for (Instruction* op : operands) {
    KILN_CHECK(op != nullptr, "Instruction::Create: null operand");
    instr->operands_.push_back(op);
    op->AddUser(instr.get());
  }
  instr->name_ = std::string(OpcodeString(opcode));
  return instr;
}

std::unique_ptr<Instruction> Instruction::CreateParameter(int64_t number, Shape shape,
                                                          std::string name) {
  std::unique_ptr<Instruction> instr = Create(Opcode::kParameter, std::move(shape), {});
  instr->parameter_number_ = number;
  instr->name_ = std::move(name);
  return instr;
}

std::unique_ptr<Instruction> Instruction::CreateConstant(Literal literal) {
  std::unique_ptr<Instruction> instr = Create(Opcode::kConstant, literal.shape(), {});
  instr->literal_ = std::move(literal);
  return instr;
}

void Instruction::AddUser(Instruction* user) {
  if (std::find(users_.begin(), users_.end(), user) == users_.end()) users_.push_back(user);
}

void Instruction::RemoveUser(Instruction* user) {
  // Only drop the user when it no longer uses this instruction through any operand.
  if (std::find(user->operands_.begin(), user->operands_.end(), this) != user->operands_.end()) {
    return;
  }
  users_.erase(std::remove(users_.begin(), users_.end(), user), users_.end());
}

void Instruction::ReplaceOperandWith(int64_t i, Instruction* new_operand) {
  Instruction* old = operands_[i];
  operands_[i] = new_operand;
  new_operand->AddUser(this);
  old->RemoveUser(this);
}

void Instruction::ReplaceAllUsesWith(Instruction* other) {
  KILN_CHECK(ShapeUtil::Compatible(shape_, other->shape()),
             "ReplaceAllUsesWith: " + shape_.ToString() + " vs " + other->shape().ToString());
  std::vector<Instruction*> users = users_;
  for (Instruction* user : users) {
    if (user == other) continue;
    for (int64_t i = 0; i < user->operand_count(); ++i) {
      if (user->operands_[i] == this) user->ReplaceOperandWith(i, other);
    }
  }
  if (parent_ != nullptr && parent_->root_instruction() == this) {
    parent_->set_root_instruction(other);
  }
}

void Instruction::DetachOperands() {
  std::vector<Instruction*> ops = std::move(operands_);
  operands_.clear();
  for (Instruction* op : ops) op->RemoveUser(this);
}

bool Instruction::IdenticalAttributes(const Instruction& o) const {
  if (opcode_ != o.opcode_ || !(shape_ == o.shape_)) return false;
  if (opcode_ == Opcode::kParameter) return parameter_number_ == o.parameter_number_;
  if (opcode_ == Opcode::kConstant && !(literal_ == o.literal_)) return false;
  if (opcode_ == Opcode::kCustomCall || opcode_ == Opcode::kRngBitGenerator) return false;
  return dimensions_ == o.dimensions_ && slice_starts_ == o.slice_starts_ &&
         slice_limits_ == o.slice_limits_ && slice_strides_ == o.slice_strides_ &&
         slice_sizes_ == o.slice_sizes_ && padding_config_ == o.padding_config_ &&
         window_ == o.window_ && conv_dnums_ == o.conv_dnums_ &&
         feature_group_count_ == o.feature_group_count_ &&
         batch_group_count_ == o.batch_group_count_ && dot_dnums_ == o.dot_dnums_ &&
         gather_dnums_ == o.gather_dnums_ && scatter_dnums_ == o.scatter_dnums_ &&
         indices_are_sorted_ == o.indices_are_sorted_ && unique_indices_ == o.unique_indices_ &&
         comparison_direction_ == o.comparison_direction_ &&
         comparison_type_ == o.comparison_type_ &&
         called_computations_ == o.called_computations_ && tuple_index_ == o.tuple_index_ &&
         exponent_bits_ == o.exponent_bits_ && mantissa_bits_ == o.mantissa_bits_ &&
         epsilon_ == o.epsilon_ && feature_index_ == o.feature_index_ &&
         is_stable_ == o.is_stable_ && rng_algorithm_ == o.rng_algorithm_ &&
         fusion_kind_ == o.fusion_kind_ &&
         quantization_ == o.quantization_;
}

std::unique_ptr<Instruction> Instruction::CloneWithNewOperands(
    const Shape& shape, std::vector<Instruction*> operands) const {
  std::unique_ptr<Instruction> c = Create(opcode_, shape, std::move(operands));
  c->name_ = name_;
  c->dimensions_ = dimensions_;
  c->slice_starts_ = slice_starts_;
  c->slice_limits_ = slice_limits_;
  c->slice_strides_ = slice_strides_;
  c->slice_sizes_ = slice_sizes_;
  c->padding_config_ = padding_config_;
  c->window_ = window_;
  c->conv_dnums_ = conv_dnums_;
  c->feature_group_count_ = feature_group_count_;
  c->batch_group_count_ = batch_group_count_;
  c->dot_dnums_ = dot_dnums_;
  c->gather_dnums_ = gather_dnums_;
  c->scatter_dnums_ = scatter_dnums_;
  c->indices_are_sorted_ = indices_are_sorted_;
  c->unique_indices_ = unique_indices_;
  c->comparison_direction_ = comparison_direction_;
  c->comparison_type_ = comparison_type_;
  c->called_computations_ = called_computations_;
  c->literal_ = literal_;
  c->parameter_number_ = parameter_number_;
  c->tuple_index_ = tuple_index_;
  c->exponent_bits_ = exponent_bits_;
  c->mantissa_bits_ = mantissa_bits_;
  c->epsilon_ = epsilon_;
  c->feature_index_ = feature_index_;
  c->is_stable_ = is_stable_;
  c->rng_algorithm_ = rng_algorithm_;
  c->fusion_kind_ = fusion_kind_;
  c->quantization_ = quantization_;
  c->custom_call_target_ = custom_call_target_;
  c->backend_config_ = backend_config_;
  return c;
}

std::string WindowToString(const Window& window) {
  std::vector<std::string> size, stride, pad, lhs, rhs, rev;
  bool any_stride = false, any_pad = false, any_lhs = false, any_rhs = false, any_rev = false;
  for (const WindowDimension& d : window.dimensions) {
    size.push_back(kiln::StrCat(d.size));
    stride.push_back(kiln::StrCat(d.stride));
    pad.push_back(kiln::StrCat(d.padding_low, "_", d.padding_high));
    lhs.push_back(kiln::StrCat(d.base_dilation));
    rhs.push_back(kiln::StrCat(d.window_dilation));
    rev.push_back(d.window_reversal ? "1" : "0");
    any_stride |= d.stride != 1;
    any_pad |= d.padding_low != 0 || d.padding_high != 0;
    any_lhs |= d.base_dilation != 1;
    any_rhs |= d.window_dilation != 1;
    any_rev |= d.window_reversal;
  }
  std::string s = kiln::StrCat("size=", absl::StrJoin(size, "x"));
  if (any_stride) kiln::StrAppend(&s, " stride=", absl::StrJoin(stride, "x"));
  if (any_pad) kiln::StrAppend(&s, " pad=", absl::StrJoin(pad, "x"));
  if (any_lhs) kiln::StrAppend(&s, " lhs_dilate=", absl::StrJoin(lhs, "x"));
  if (any_rhs) kiln::StrAppend(&s, " rhs_dilate=", absl::StrJoin(rhs, "x"));
  if (any_rev) kiln::StrAppend(&s, " rhs_reversal=", absl::StrJoin(rev, "x"));
  return s;
}

std::string ConvolutionDimensionNumbersToString(const ConvolutionDimensionNumbers& d) {
  auto labels = [](int64_t rank, int64_t a, char ac, int64_t b, char bc,
                   const std::vector<int64_t>& spatial) {
    std::string s(rank, '?');
    if (a >= 0 && a < rank) s[a] = ac;
    if (b >= 0 && b < rank) s[b] = bc;
    for (size_t i = 0; i < spatial.size(); ++i) {
      if (spatial[i] >= 0 && spatial[i] < rank) {
        s[spatial[i]] = static_cast<char>(i < 10 ? '0' + i : 'a' + (i - 10));
      }
    }
    return s;
  };
  int64_t rank = static_cast<int64_t>(d.input_spatial_dimensions.size()) + 2;
  return kiln::StrCat(
      labels(rank, d.input_batch_dimension, 'b', d.input_feature_dimension, 'f',
             d.input_spatial_dimensions),
      "_",
      labels(rank, d.kernel_output_feature_dimension, 'o', d.kernel_input_feature_dimension, 'i',
             d.kernel_spatial_dimensions),
      "->",
      labels(rank, d.output_batch_dimension, 'b', d.output_feature_dimension, 'f',
             d.output_spatial_dimensions));
}

std::string PaddingConfigToString(const PaddingConfig& padding) {
  std::vector<std::string> parts;
  for (const PaddingDimension& p : padding) {
    std::string s = kiln::StrCat(p.edge_padding_low, "_", p.edge_padding_high);
    if (p.interior_padding != 0) kiln::StrAppend(&s, "_", p.interior_padding);
    parts.push_back(s);
  }
  return absl::StrJoin(parts, "x");
}

namespace {

using Attributes = std::vector<std::string>;

std::string ComputationRef(const Computation* c) { return kiln::StrCat("%", c->name()); }

void AppendGatherAttributes(const Instruction& instr, Attributes& a) {
  const GatherDimensionNumbers& g = instr.gather_dimension_numbers();
  a.push_back(kiln::StrCat("offset_dims=", Braced(g.offset_dims)));
  a.push_back(kiln::StrCat("collapsed_slice_dims=", Braced(g.collapsed_slice_dims)));
  a.push_back(kiln::StrCat("start_index_map=", Braced(g.start_index_map)));
  if (!g.operand_batching_dims.empty()) {
    a.push_back(kiln::StrCat("operand_batching_dims=", Braced(g.operand_batching_dims)));
    a.push_back(kiln::StrCat("start_indices_batching_dims=", Braced(g.start_indices_batching_dims)));
  }
  a.push_back(kiln::StrCat("index_vector_dim=", g.index_vector_dim));
  a.push_back(kiln::StrCat("slice_sizes=", Braced(instr.slice_sizes())));
  if (instr.indices_are_sorted()) a.push_back("indices_are_sorted=true");
}

void AppendScatterAttributes(const Instruction& instr, Attributes& a) {
  const ScatterDimensionNumbers& s = instr.scatter_dimension_numbers();
  a.push_back(kiln::StrCat("update_window_dims=", Braced(s.update_window_dims)));
  a.push_back(kiln::StrCat("inserted_window_dims=", Braced(s.inserted_window_dims)));
  a.push_back(kiln::StrCat("scatter_dims_to_operand_dims=", Braced(s.scatter_dims_to_operand_dims)));
  if (!s.input_batching_dims.empty()) {
    a.push_back(kiln::StrCat("input_batching_dims=", Braced(s.input_batching_dims)));
    a.push_back(kiln::StrCat("scatter_indices_batching_dims=", Braced(s.scatter_indices_batching_dims)));
  }
  a.push_back(kiln::StrCat("index_vector_dim=", s.index_vector_dim));
  if (instr.indices_are_sorted()) a.push_back("indices_are_sorted=true");
  if (instr.unique_indices()) a.push_back("unique_indices=true");
}

void AppendQuantizationAttributes(const QuantizationParams& q, Attributes& a) {
  std::vector<std::string> scales;
  for (double s : q.scales) scales.push_back(ShortestDouble(s));
  a.push_back(kiln::StrCat("scale={", absl::StrJoin(scales, ","), "}"));
  a.push_back(kiln::StrCat("zero_point=", Braced(q.zero_points)));
  if (q.quantization_dimension >= 0) {
    a.push_back(kiln::StrCat("quantization_dimension=", q.quantization_dimension));
  }
}

void AppendDotAttributes(const DotDimensionNumbers& d, Attributes& a) {
  if (!d.lhs_batch_dimensions.empty()) a.push_back(kiln::StrCat("lhs_batch_dims=", Braced(d.lhs_batch_dimensions)));
  a.push_back(kiln::StrCat("lhs_contracting_dims=", Braced(d.lhs_contracting_dimensions)));
  if (!d.rhs_batch_dimensions.empty()) a.push_back(kiln::StrCat("rhs_batch_dims=", Braced(d.rhs_batch_dimensions)));
  a.push_back(kiln::StrCat("rhs_contracting_dims=", Braced(d.rhs_contracting_dimensions)));
}

// The attributes that name called computations (to_apply=, condition=/body=, calls=, ...).
void AppendCalledComputations(const Instruction& instr, Attributes& a) {
  const std::vector<Computation*>& called = instr.called_computations();
  switch (instr.opcode()) {
    case Opcode::kSelectAndScatter:
      if (called.size() == 2) {
        a.push_back(kiln::StrCat("select=", ComputationRef(called[0])));
        a.push_back(kiln::StrCat("scatter=", ComputationRef(called[1])));
      }
      break;
    case Opcode::kWhile:
      if (called.size() == 2) {
        a.push_back(kiln::StrCat("condition=", ComputationRef(called[0])));
        a.push_back(kiln::StrCat("body=", ComputationRef(called[1])));
      }
      break;
    case Opcode::kConditional:
      if (instr.operand_count() > 0 && instr.operand(0)->shape().element_type() == PrimitiveType::PRED &&
          called.size() == 2) {
        a.push_back(kiln::StrCat("true_computation=", ComputationRef(called[0])));
        a.push_back(kiln::StrCat("false_computation=", ComputationRef(called[1])));
      } else {
        std::vector<std::string> names;
        for (const Computation* c : called) names.push_back(ComputationRef(c));
        a.push_back(kiln::StrCat("branch_computations={", absl::StrJoin(names, ", "), "}"));
      }
      break;
    case Opcode::kFusion:
      a.push_back(kiln::StrCat("kind=", std::string(FusionKindString(instr.fusion_kind()))));
      if (!called.empty()) a.push_back(kiln::StrCat("calls=", ComputationRef(called[0])));
      break;
    default:
      if (!called.empty()) a.push_back(kiln::StrCat("to_apply=", ComputationRef(called[0])));
      break;
  }
}

}  // namespace

std::string Instruction::AttributesToString() const {
  Attributes a;
  switch (opcode_) {
    case Opcode::kBroadcast:
    case Opcode::kTranspose:
    case Opcode::kReverse:
    case Opcode::kConcatenate:
    case Opcode::kReduce:
    case Opcode::kMap:
    case Opcode::kSort:
      a.push_back(kiln::StrCat("dimensions=", Braced(dimensions_)));
      break;
    case Opcode::kIota:
      a.push_back(kiln::StrCat("iota_dimension=", dimensions_.empty() ? 0 : dimensions_[0]));
      break;
    case Opcode::kSlice: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < slice_starts_.size(); ++i) {
        std::string p = kiln::StrCat("[", slice_starts_[i], ":", slice_limits_[i]);
        if (slice_strides_[i] != 1) kiln::StrAppend(&p, ":", slice_strides_[i]);
        parts.push_back(p + "]");
      }
      a.push_back(kiln::StrCat("slice={", absl::StrJoin(parts, ", "), "}"));
      break;
    }
    case Opcode::kDynamicSlice:
      a.push_back(kiln::StrCat("dynamic_slice_sizes=", Braced(slice_sizes_)));
      break;
    case Opcode::kPad:
      a.push_back(kiln::StrCat("padding=", PaddingConfigToString(padding_config_)));
      break;
    case Opcode::kReduceWindow:
    case Opcode::kSelectAndScatter:
      if (!window_.dimensions.empty()) {
        a.push_back(kiln::StrCat("window={", WindowToString(window_), "}"));
      }
      break;
    case Opcode::kConvolution:
      if (!window_.dimensions.empty()) {
        a.push_back(kiln::StrCat("window={", WindowToString(window_), "}"));
      }
      a.push_back(kiln::StrCat("dim_labels=", ConvolutionDimensionNumbersToString(conv_dnums_)));
      if (feature_group_count_ != 1) {
        a.push_back(kiln::StrCat("feature_group_count=", feature_group_count_));
      }
      if (batch_group_count_ != 1) {
        a.push_back(kiln::StrCat("batch_group_count=", batch_group_count_));
      }
      break;
    case Opcode::kDot:
      AppendDotAttributes(dot_dnums_, a);
      break;
    case Opcode::kCompare:
      a.push_back(kiln::StrCat("direction=", std::string(ComparisonDirectionString(comparison_direction_))));
      if (comparison_type_ != ComparisonType::kDefault) {
        a.push_back(kiln::StrCat("type=", std::string(ComparisonTypeString(comparison_type_))));
      }
      break;
    case Opcode::kGetTupleElement:
      a.push_back(kiln::StrCat("index=", tuple_index_));
      break;
    case Opcode::kReducePrecision:
      a.push_back(kiln::StrCat("exponent_bits=", exponent_bits_));
      a.push_back(kiln::StrCat("mantissa_bits=", mantissa_bits_));
      break;
    case Opcode::kBatchNormInference:
    case Opcode::kBatchNormTraining:
    case Opcode::kBatchNormGrad:
      a.push_back(kiln::StrCat("epsilon=", ShortestFloat(epsilon_)));
      a.push_back(kiln::StrCat("feature_index=", feature_index_));
      break;
    case Opcode::kGather:
      AppendGatherAttributes(*this, a);
      break;
    case Opcode::kScatter:
      AppendScatterAttributes(*this, a);
      break;
    case Opcode::kRngBitGenerator:
      a.push_back(kiln::StrCat("algorithm=", std::string(RandomAlgorithmString(rng_algorithm_))));
      break;
    case Opcode::kUniformQuantize:
    case Opcode::kUniformDequantize:
      AppendQuantizationAttributes(quantization_, a);
      break;
    case Opcode::kCustomCall:
      a.push_back(kiln::StrCat("custom_call_target=\"", custom_call_target_, "\""));
      break;
    default:
      break;
  }
  if (opcode_ == Opcode::kSort && is_stable_) a.push_back("is_stable=true");
  AppendCalledComputations(*this, a);
  if (!backend_config_.empty()) {
    std::string escaped;
    for (char c : backend_config_) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    a.push_back(kiln::StrCat("backend_config=\"", escaped, "\""));
  }
  if (a.empty()) return "";
  return kiln::StrCat(", ", absl::StrJoin(a, ", "));
}

std::string Instruction::ToString() const {
  std::string s = kiln::StrCat("%", name_, " = ", shape_.ToString(), " ", std::string(OpcodeString(opcode_)),
                               "(");
  if (opcode_ == Opcode::kParameter) {
    kiln::StrAppend(&s, parameter_number_);
  } else if (opcode_ == Opcode::kConstant) {
    kiln::StrAppend(&s, literal_.ValuesToString());
  } else {
    std::vector<std::string> ops;
    for (const Instruction* op : operands_) {
      ops.push_back(kiln::StrCat(op->shape().ToString(), " %", op->name()));
    }
    kiln::StrAppend(&s, absl::StrJoin(ops, ", "));
  }
  kiln::StrAppend(&s, ")", AttributesToString());
  return s;
}

}  // namespace kiln::hlo
