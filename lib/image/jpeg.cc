// JPEG decoding with libjpeg(-turbo).
//
// libjpeg reports fatal errors through error_exit, which must not return. The decoder's error
// manager longjmps back to the setjmp in the C-style helpers below; those helpers hold no C++
// objects with destructors, so the jump skips no cleanup. The C++ code around them turns the
// recorded message into an absl::Status.
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jerror.h>
#include <jpeglib.h>

#include "kiln/support/strings.h"
#include "kiln/image/image.h"
#include "kiln/support/read_file.h"
#include "kiln/support/status.h"

namespace kiln {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;  // First member: libjpeg sees a jpeg_error_mgr*.
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int num_warnings = 0;   // Corrupt-data warnings (libjpeg recovers from them).
  bool truncated = false;  // The data ended before the image did (JWRN_JPEG_EOF or JWRN_HIT_MARKER).
  bool too_many_scans = false;
};

extern "C" void OnJpegError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

extern "C" void OnJpegMessage(j_common_ptr cinfo, int msg_level) {
  // msg_level < 0 is a warning (corrupt or truncated data); >= 0 are trace messages.
  if (msg_level >= 0) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER) {
    // The file, or a scan's data, ends before the image does. libjpeg would pad the missing data
    // and go on decoding (gray pixels, not the image); Kiln refuses the file, and stops now, so that
    // a few bytes declaring a large image cost no decoding time.
    err->truncated = true;
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
  }
  if (err->num_warnings++ == 0) (*cinfo->err->format_message)(cinfo, err->message);
}

// Called by libjpeg as it reads the data: stops at the scan after kMaxJpegScans (each scan of a
// progressive JPEG revisits the whole image, so thousands of tiny scans cost a lot of time).
extern "C" void OnJpegProgress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  if (reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number <= kMaxJpegScans) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  err->too_many_scans = true;
  std::longjmp(err->jump, 1);
}

// The decompressor and its error manager, kept together so the helpers can reach both.
struct Decoder {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  jpeg_progress_mgr progress;
};

// Each helper returns false after a libjpeg error (message in dec->err.message).
bool CreateDecoder(Decoder* dec, const unsigned char* data, unsigned long size) {
  dec->cinfo.err = jpeg_std_error(&dec->err.pub);
  dec->err.pub.error_exit = OnJpegError;
  dec->err.pub.emit_message = OnJpegMessage;
  dec->err.message[0] = '\0';
  if (setjmp(dec->err.jump)) return false;
  jpeg_create_decompress(&dec->cinfo);
  jpeg_mem_src(&dec->cinfo, data, size);
  dec->progress.progress_monitor = OnJpegProgress;
  dec->cinfo.progress = &dec->progress;
  return true;
}

bool ReadHeader(Decoder* dec) {
  if (setjmp(dec->err.jump)) return false;
  jpeg_read_header(&dec->cinfo, TRUE);
  return true;
}

bool StartDecompress(Decoder* dec, J_COLOR_SPACE out_space) {
  if (setjmp(dec->err.jump)) return false;
  dec->cinfo.out_color_space = out_space;
  // libjpeg's defaults, stated for clarity: they define which pixels we promise.
  dec->cinfo.dct_method = JDCT_ISLOW;
  dec->cinfo.do_fancy_upsampling = TRUE;
  jpeg_start_decompress(&dec->cinfo);
  return true;
}

bool ReadScanlines(Decoder* dec, unsigned char* out, size_t row_bytes) {
  if (setjmp(dec->err.jump)) return false;
  while (dec->cinfo.output_scanline < dec->cinfo.output_height) {
    JSAMPROW row = out + static_cast<size_t>(dec->cinfo.output_scanline) * row_bytes;
    if (jpeg_read_scanlines(&dec->cinfo, &row, 1) != 1) break;  // Suspension cannot happen with a memory source.
  }
  jpeg_finish_decompress(&dec->cinfo);
  return true;
}

// Frees the decoder whether or not it finished.
class DecoderGuard {
 public:
  explicit DecoderGuard(Decoder* dec) : dec_(dec) {}
  ~DecoderGuard() { jpeg_destroy_decompress(&dec_->cinfo); }
  DecoderGuard(const DecoderGuard&) = delete;
  DecoderGuard& operator=(const DecoderGuard&) = delete;

 private:
  Decoder* dec_;
};

const char* ColorSpaceName(J_COLOR_SPACE space) {
  switch (space) {
    case JCS_GRAYSCALE: return "grayscale";
    case JCS_RGB: return "RGB";
    case JCS_YCbCr: return "YCbCr";
    case JCS_CMYK: return "CMYK";
    case JCS_YCCK: return "YCCK";
    default: return "unknown";
  }
}

// The first bytes of common image formats, for a clear refusal.
const char* SniffFormat(std::string_view bytes) {
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF) {
    return "JPEG";
  }
  if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (bytes.substr(0, 4) == "GIF8") return "GIF";
  if (bytes.substr(0, 2) == "BM") return "BMP";
  if (bytes.size() >= 12 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP") return "WebP";
  if (bytes.substr(0, 6) == std::string_view("\x93NUMPY", 6)) return "NumPy .npy";
  return nullptr;
}

}  // namespace

absl::StatusOr<Tensor> DecodeJpeg(std::string_view bytes, std::string_view source_name,
                                  const ImageDecodeOptions& options) {
  if (bytes.empty()) return absl::InvalidArgumentError(kiln::StrCat(source_name, ": empty file, not a JPEG"));
  Decoder dec;
  std::memset(&dec, 0, sizeof(dec));
  auto fail = [&](std::string_view stage) -> absl::Status {
    if (dec.err.truncated) {
      return absl::DataLossError(kiln::StrCat(source_name, ": truncated JPEG (", dec.err.message,
                                              "); the file is incomplete, fetch or copy it again"));
    }
    if (dec.err.too_many_scans) {
      return absl::InvalidArgumentError(kiln::StrCat(source_name, ": the JPEG has more than ", kMaxJpegScans,
                                                     " scans, more than Kiln decodes (a corrupt or hostile file)"));
    }
    return absl::InvalidArgumentError(
        kiln::StrCat(source_name, ": cannot decode JPEG (", stage, "): ", dec.err.message));
  };
  if (!CreateDecoder(&dec, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())) {
    return fail("initialisation");
  }
  DecoderGuard guard(&dec);
  if (!ReadHeader(&dec)) return fail("header");
  // The header's size bounds every allocation that follows: check it before decoding anything.
  const int64_t pixels = int64_t{dec.cinfo.image_width} * dec.cinfo.image_height;
  if (pixels > options.max_pixels) {
    return absl::ResourceExhaustedError(kiln::StrCat(
        source_name, ": the JPEG declares ", dec.cinfo.image_width, "x", dec.cinfo.image_height, " = ", pixels,
        " pixels, more than the limit of ", options.max_pixels,
        " pixels; if the image is genuine, raise the limit (kiln run --max-image-pixels=N, "
        "ImageDecodeOptions::max_pixels)"));
  }
  J_COLOR_SPACE in_space = dec.cinfo.jpeg_color_space;
  if (in_space == JCS_CMYK || in_space == JCS_YCCK) {
    return absl::UnimplementedError(kiln::StrCat(
        source_name, ": ", ColorSpaceName(in_space),
        " JPEGs are not supported; convert the image to RGB (e.g. with Pillow's convert('RGB'))"));
  }
  if (dec.cinfo.num_components != 1 && dec.cinfo.num_components != 3) {
    return absl::UnimplementedError(kiln::StrCat(source_name, ": JPEG with ", dec.cinfo.num_components,
                                                 " components is not supported (need 1 or 3)"));
  }
  // libjpeg-turbo converts grayscale to RGB itself by replicating the channel.
  if (!StartDecompress(&dec, JCS_RGB)) return fail("start");
  if (dec.cinfo.output_components != 3) {
    return absl::InternalError(kiln::StrCat(source_name, ": libjpeg produced ", dec.cinfo.output_components,
                                            " channels, expected 3"));
  }
  const int64_t height = dec.cinfo.output_height, width = dec.cinfo.output_width;
  KILN_ASSIGN_OR_RETURN(Tensor image, Tensor::Create(DType::kU8, {height, width, 3}));
  if (!ReadScanlines(&dec, image.data<uint8_t>(), static_cast<size_t>(width) * 3)) return fail("scanlines");
  return image;
}

absl::StatusOr<Tensor> ReadImageFile(const std::string& path, const ImageDecodeOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadRegularFile(path, "image file"));
  const char* format = SniffFormat(bytes);
  if (format != nullptr && std::strcmp(format, "JPEG") != 0) {
    return absl::UnimplementedError(
        kiln::StrCat(path, ": ", format, " files are not supported; convert the image to JPEG"));
  }
  return DecodeJpeg(bytes, path, options);
}

}  // namespace kiln
