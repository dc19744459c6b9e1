// HLO instructions: an opcode, a result shape, operands, and the typed attributes of the opcode.
#ifndef KILN_HLO_INSTRUCTION_H_
#define KILN_HLO_INSTRUCTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/literal.h"
#include "kiln/hlo/opcode.h"
#include "kiln/hlo/shape.h"

namespace kiln::hlo {

class Computation;

// Pad: per dimension, elements added before (low) and after (high) the operand and between its
// elements (interior). Low and high may be negative (they then remove elements); interior >= 0.
struct PaddingDimension {
  int64_t edge_padding_low = 0;
  int64_t edge_padding_high = 0;
  int64_t interior_padding = 0;
  bool operator==(const PaddingDimension&) const = default;
};
using PaddingConfig = std::vector<PaddingDimension>;

// One spatial dimension of a window (reduce-window, select-and-scatter, convolution).
// base_dilation is the lhs dilation of a convolution, window_dilation its rhs dilation.
struct WindowDimension {
  int64_t size = 1;
  int64_t stride = 1;
  int64_t padding_low = 0;
  int64_t padding_high = 0;
  int64_t window_dilation = 1;
  int64_t base_dilation = 1;
  bool window_reversal = false;
  bool operator==(const WindowDimension&) const = default;
};
struct Window {
  std::vector<WindowDimension> dimensions;
  bool operator==(const Window&) const = default;
};

// Which dimension of each convolution operand plays which role. Printed as `dim_labels`, e.g.
// `b01f_01io->b01f`.
struct ConvolutionDimensionNumbers {
  int64_t input_batch_dimension = 0;
  int64_t input_feature_dimension = 1;
  std::vector<int64_t> input_spatial_dimensions;
  int64_t kernel_input_feature_dimension = 1;
  int64_t kernel_output_feature_dimension = 0;
  std::vector<int64_t> kernel_spatial_dimensions;
  int64_t output_batch_dimension = 0;
  int64_t output_feature_dimension = 1;
  std::vector<int64_t> output_spatial_dimensions;
  bool operator==(const ConvolutionDimensionNumbers&) const = default;
  // NCHW input, OIHW kernel, NCHW output with `num_spatial` spatial dimensions (bf01_oi01->bf01).
  static ConvolutionDimensionNumbers Nchw(int64_t num_spatial);
};

// Dot: batch dimensions pair up (and lead the result), contracting dimensions are summed; the
// result is [batch..., lhs free..., rhs free...].
struct DotDimensionNumbers {
  std::vector<int64_t> lhs_batch_dimensions;
  std::vector<int64_t> rhs_batch_dimensions;
  std::vector<int64_t> lhs_contracting_dimensions;
  std::vector<int64_t> rhs_contracting_dimensions;
  bool operator==(const DotDimensionNumbers&) const = default;
};

struct GatherDimensionNumbers {
  std::vector<int64_t> offset_dims;
  std::vector<int64_t> collapsed_slice_dims;
  std::vector<int64_t> start_index_map;
  int64_t index_vector_dim = 0;
  std::vector<int64_t> operand_batching_dims;
  std::vector<int64_t> start_indices_batching_dims;
  bool operator==(const GatherDimensionNumbers&) const = default;
};

struct ScatterDimensionNumbers {
  std::vector<int64_t> update_window_dims;
  std::vector<int64_t> inserted_window_dims;
  std::vector<int64_t> scatter_dims_to_operand_dims;
  int64_t index_vector_dim = 0;
  std::vector<int64_t> input_batching_dims;
  std::vector<int64_t> scatter_indices_batching_dims;
  bool operator==(const ScatterDimensionNumbers&) const = default;
};

enum class ComparisonDirection : uint8_t { kEq, kNe, kGe, kGt, kLe, kLt };
std::string_view ComparisonDirectionString(ComparisonDirection direction);  // "EQ", ...
absl::StatusOr<ComparisonDirection> ParseComparisonDirection(std::string_view text);
// XLA's comparison `type=`: kDefault follows the element type (IEEE for floats); kTotalOrder
// orders floats -NaN < -inf < ... < -0 < +0 < ... < inf < NaN (sign and payload of the bits).
enum class ComparisonType : uint8_t { kDefault, kFloat, kTotalOrder, kSigned, kUnsigned };
std::string_view ComparisonTypeString(ComparisonType type);  // "", "FLOAT", "TOTALORDER", ...
absl::StatusOr<ComparisonType> ParseComparisonType(std::string_view text);

// kFusion: what a backend emits for the fused computation (XLA's kinds). kLoop: one loop nest over
// the root's elements that computes every fused instruction inline (elementwise ops, index ops, a
// reduction at the root). kOutput: a library contraction (convolution or dot) whose result passes
// through the rest of the fused computation (bias add, clamps, one residual add) before it is
// stored. The fused computation's parameters are the fusion's operands, in order.
enum class FusionKind : uint8_t { kLoop, kOutput };
std::string_view FusionKindString(FusionKind kind);  // "kLoop", "kOutput"
absl::StatusOr<FusionKind> ParseFusionKind(std::string_view text);

enum class RandomAlgorithm : uint8_t { kDefault, kThreeFry, kPhilox };
std::string_view RandomAlgorithmString(RandomAlgorithm algorithm);  // "rng_default", ...

// Affine quantization, real = scale * (q - zero_point): one scale/zero point (per tensor,
// quantization_dimension = -1) or one per index of quantization_dimension (per axis).
struct QuantizationParams {
  std::vector<double> scales;
  std::vector<int64_t> zero_points;
  int64_t quantization_dimension = -1;
  bool operator==(const QuantizationParams&) const = default;
};

// One HLO instruction. Instructions are owned by a Computation; operands and users point to
// instructions of the same computation. Attribute fields are meaningful only for the opcodes named
// next to them; the others keep their defaults.
class Instruction {
 public:
  // A detached instruction (add it to a computation with Computation::AddInstruction).
  static std::unique_ptr<Instruction> Create(Opcode opcode, Shape shape,
                                             std::vector<Instruction*> operands);
  static std::unique_ptr<Instruction> CreateParameter(int64_t number, Shape shape,
                                                      std::string name);
  static std::unique_ptr<Instruction> CreateConstant(Literal literal);

  Instruction(const Instruction&) = delete;
  Instruction& operator=(const Instruction&) = delete;

  Opcode opcode() const { return opcode_; }
  const Shape& shape() const { return shape_; }
  Shape* mutable_shape() { return &shape_; }

  // Unique within the module; printed as `%name`.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  // Unique within the module; assigned when added to a computation.
  int64_t unique_id() const { return unique_id_; }
  void set_unique_id(int64_t id) { unique_id_ = id; }

  Computation* parent() const { return parent_; }
  void set_parent(Computation* parent) { parent_ = parent; }

  int64_t operand_count() const { return static_cast<int64_t>(operands_.size()); }
  Instruction* operand(int64_t i) const { return operands_[i]; }
  const std::vector<Instruction*>& operands() const { return operands_; }
  // Distinct users, in the order they became users.
  const std::vector<Instruction*>& users() const { return users_; }
  int64_t user_count() const { return static_cast<int64_t>(users_.size()); }

  // Replaces operand i (updating use lists).
  void ReplaceOperandWith(int64_t i, Instruction* new_operand);
  // Makes every user of this instruction use `other` instead (and the parent's root, if this is
  // it). Shapes must be compatible (checked).
  void ReplaceAllUsesWith(Instruction* other);
  // Drops all operands (updating their use lists); used when removing an instruction.
  void DetachOperands();

  // Elementwise unary/binary ops, select, clamp and convert.
  bool IsElementwise() const { return hlo::IsElementwise(opcode_); }

  // --- Attributes ---------------------------------------------------------------------------
  // kBroadcast: operand dimension i maps to result dimension dimensions[i].
  // kTranspose: result dimension i is operand dimension dimensions[i].
  // kReduce, kReverse: the dimensions reduced / reversed. kConcatenate: {dimension}.
  // kIota: {iota_dimension}. kSort: {dimension}. kMap: all dimensions.
  const std::vector<int64_t>& dimensions() const { return dimensions_; }
  int64_t dimensions(int64_t i) const { return dimensions_[i]; }
  void set_dimensions(std::vector<int64_t> d) { dimensions_ = std::move(d); }

  // kSlice.
  const std::vector<int64_t>& slice_starts() const { return slice_starts_; }
  const std::vector<int64_t>& slice_limits() const { return slice_limits_; }
  const std::vector<int64_t>& slice_strides() const { return slice_strides_; }
  void set_slice(std::vector<int64_t> starts, std::vector<int64_t> limits,
                 std::vector<int64_t> strides) {
    slice_starts_ = std::move(starts);
    slice_limits_ = std::move(limits);
    slice_strides_ = std::move(strides);
  }
  // kDynamicSlice: slice sizes. kGather: slice sizes.
  const std::vector<int64_t>& slice_sizes() const { return slice_sizes_; }
  void set_slice_sizes(std::vector<int64_t> s) { slice_sizes_ = std::move(s); }

  // kPad.
  const PaddingConfig& padding_config() const { return padding_config_; }
  void set_padding_config(PaddingConfig p) { padding_config_ = std::move(p); }

  // kReduceWindow, kSelectAndScatter, kConvolution.
  const Window& window() const { return window_; }
  void set_window(Window w) { window_ = std::move(w); }

  // kConvolution.
  const ConvolutionDimensionNumbers& convolution_dimension_numbers() const { return conv_dnums_; }
  void set_convolution_dimension_numbers(ConvolutionDimensionNumbers d) {
    conv_dnums_ = std::move(d);
  }
  int64_t feature_group_count() const { return feature_group_count_; }
  void set_feature_group_count(int64_t n) { feature_group_count_ = n; }
  int64_t batch_group_count() const { return batch_group_count_; }
  void set_batch_group_count(int64_t n) { batch_group_count_ = n; }

  // kDot.
  const DotDimensionNumbers& dot_dimension_numbers() const { return dot_dnums_; }
  void set_dot_dimension_numbers(DotDimensionNumbers d) { dot_dnums_ = std::move(d); }

  // kGather / kScatter.
  const GatherDimensionNumbers& gather_dimension_numbers() const { return gather_dnums_; }
  void set_gather_dimension_numbers(GatherDimensionNumbers d) { gather_dnums_ = std::move(d); }
  const ScatterDimensionNumbers& scatter_dimension_numbers() const { return scatter_dnums_; }
  void set_scatter_dimension_numbers(ScatterDimensionNumbers d) { scatter_dnums_ = std::move(d); }
  bool indices_are_sorted() const { return indices_are_sorted_; }
  void set_indices_are_sorted(bool v) { indices_are_sorted_ = v; }
  bool unique_indices() const { return unique_indices_; }
  void set_unique_indices(bool v) { unique_indices_ = v; }

  // kCompare.
  ComparisonDirection comparison_direction() const { return comparison_direction_; }
  void set_comparison_direction(ComparisonDirection d) { comparison_direction_ = d; }
  ComparisonType comparison_type() const { return comparison_type_; }
  void set_comparison_type(ComparisonType t) { comparison_type_ = t; }

  // Called computations: kReduce, kReduceWindow, kMap, kSort, kScatter, kCall: {to_apply};
  // kSelectAndScatter: {select, scatter}; kWhile: {condition, body};
  // kConditional: the branches (branch i runs for index i; for a PRED index {true, false}).
  const std::vector<Computation*>& called_computations() const { return called_computations_; }
  void set_called_computations(std::vector<Computation*> c) {
    called_computations_ = std::move(c);
  }
  Computation* to_apply() const { return called_computations_.at(0); }

  // kFusion: {fused computation}, printed `kind=kLoop, calls=%fused_computation`.
  FusionKind fusion_kind() const { return fusion_kind_; }
  void set_fusion_kind(FusionKind k) { fusion_kind_ = k; }
  Computation* fused_computation() const { return called_computations_.at(0); }

  // kConstant.
  const Literal& literal() const { return literal_; }
  void set_literal(Literal literal) { literal_ = std::move(literal); }

  // kParameter.
  int64_t parameter_number() const { return parameter_number_; }
  void set_parameter_number(int64_t n) { parameter_number_ = n; }

  // kGetTupleElement.
  int64_t tuple_index() const { return tuple_index_; }
  void set_tuple_index(int64_t i) { tuple_index_ = i; }

  // kReducePrecision.
  int64_t exponent_bits() const { return exponent_bits_; }
  int64_t mantissa_bits() const { return mantissa_bits_; }
  void set_reduce_precision(int64_t exponent_bits, int64_t mantissa_bits) {
    exponent_bits_ = exponent_bits;
    mantissa_bits_ = mantissa_bits;
  }

  // kBatchNorm*.
  float epsilon() const { return epsilon_; }
  void set_epsilon(float e) { epsilon_ = e; }
  int64_t feature_index() const { return feature_index_; }
  void set_feature_index(int64_t f) { feature_index_ = f; }

  // kSort.
  bool is_stable() const { return is_stable_; }
  void set_is_stable(bool s) { is_stable_ = s; }

  // kRngBitGenerator.
  RandomAlgorithm rng_algorithm() const { return rng_algorithm_; }
  void set_rng_algorithm(RandomAlgorithm a) { rng_algorithm_ = a; }

  // kUniformQuantize / kUniformDequantize.
  const QuantizationParams& quantization() const { return quantization_; }
  void set_quantization(QuantizationParams q) { quantization_ = std::move(q); }

  // kCustomCall: the target name and an opaque string passed to it (`backend_config`).
  const std::string& custom_call_target() const { return custom_call_target_; }
  void set_custom_call_target(std::string t) { custom_call_target_ = std::move(t); }
  const std::string& backend_config() const { return backend_config_; }
  void set_backend_config(std::string c) { backend_config_ = std::move(c); }

  // The attributes that two instructions must share to compute the same value from the same
  // operands (used by CSE); does not compare operands, names or ids.
  bool IdenticalAttributes(const Instruction& other) const;

  // `%name = f32[2]{0} add(f32[2]{0} %a, f32[2]{0} %b), attrs...` (without "ROOT ").
  std::string ToString() const;
  // The attribute suffix alone: ", dimensions={0}, to_apply=%add" (may be empty).
  std::string AttributesToString() const;

  // A copy with new operands and shape, detached, the same name (rename before adding).
  std::unique_ptr<Instruction> CloneWithNewOperands(const Shape& shape,
                                                    std::vector<Instruction*> operands) const;

 private:
  Instruction(Opcode opcode, Shape shape) : opcode_(opcode), shape_(std::move(shape)) {}
  void AddUser(Instruction* user);
  void RemoveUser(Instruction* user);

  Opcode opcode_;
  Shape shape_;
  std::string name_;
  int64_t unique_id_ = -1;
  Computation* parent_ = nullptr;
  std::vector<Instruction*> operands_;
  std::vector<Instruction*> users_;

  std::vector<int64_t> dimensions_;
  std::vector<int64_t> slice_starts_, slice_limits_, slice_strides_;
  std::vector<int64_t> slice_sizes_;
  PaddingConfig padding_config_;
  Window window_;
  ConvolutionDimensionNumbers conv_dnums_;
  int64_t feature_group_count_ = 1;
  int64_t batch_group_count_ = 1;
  DotDimensionNumbers dot_dnums_;
  GatherDimensionNumbers gather_dnums_;
  ScatterDimensionNumbers scatter_dnums_;
  bool indices_are_sorted_ = false;
  bool unique_indices_ = false;
  ComparisonDirection comparison_direction_ = ComparisonDirection::kEq;
  ComparisonType comparison_type_ = ComparisonType::kDefault;
  std::vector<Computation*> called_computations_;
  Literal literal_;
  int64_t parameter_number_ = 0;
  int64_t tuple_index_ = 0;
  int64_t exponent_bits_ = 0;
  int64_t mantissa_bits_ = 0;
  float epsilon_ = 0.0f;
  int64_t feature_index_ = 0;
  bool is_stable_ = false;
  RandomAlgorithm rng_algorithm_ = RandomAlgorithm::kDefault;
  FusionKind fusion_kind_ = FusionKind::kLoop;
  QuantizationParams quantization_;
  std::string custom_call_target_;
  std::string backend_config_;
};

// Window text as XLA prints it: "size=3x3 stride=2x2 pad=1_1x1_1 lhs_dilate=.. rhs_dilate=..".
std::string WindowToString(const Window& window);
// "bf01_oi01->bf01" for `dnums` (spatial dims printed as 0, 1, ...).
std::string ConvolutionDimensionNumbersToString(const ConvolutionDimensionNumbers& dnums);
// "0_0x1_1" (low_high[_interior] per dimension).
std::string PaddingConfigToString(const PaddingConfig& padding);

}  // namespace kiln::hlo

#endif  // KILN_HLO_INSTRUCTION_H_
