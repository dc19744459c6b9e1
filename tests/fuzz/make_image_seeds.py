#!/usr/bin/env python3
"""Writes the seeds of tests/fuzz/corpus/jpeg and tests/fuzz/corpus/npy (needs the `pillow` and
`numpy` pip packages; the committed seeds were written with Pillow 13.0 and NumPy 2.4): tiny JPEGs
of each kind the decoder meets, .npy files of each dtype and header version, and the regression
seeds of docs/testing.md. Deterministic: rerunning rewrites the same bytes."""
import io
import os

import numpy as np
from PIL import Image

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(folder, name, data):
    os.makedirs(os.path.join(here, folder), exist_ok=True)
    with open(os.path.join(here, folder, name), "wb") as f:
        f.write(data)


def jpeg(image, **options):
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def with_declared_size(data, width, height):
    """The JPEG with the size in its SOF marker replaced."""
    data = bytearray(data)
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(marker)
        if i >= 0:
            data[i + 5:i + 7] = height.to_bytes(2, "big")
            data[i + 7:i + 9] = width.to_bytes(2, "big")
            return bytes(data)
    raise ValueError("no SOF marker")


rng = np.random.default_rng(0)
noise = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), "RGB")
write("jpeg", "rgb_16x16_q75.jpg", jpeg(noise, quality=75))
write("jpeg", "rgb_16x16_444.jpg", jpeg(noise, quality=90, subsampling=0))
write("jpeg", "rgb_16x16_progressive.jpg", jpeg(noise, quality=75, progressive=True))
write("jpeg", "rgb_17x9_odd_size.jpg", jpeg(noise.resize((17, 9)), quality=50))
write("jpeg", "gray_8x8.jpg", jpeg(noise.convert("L").resize((8, 8)), quality=75))
write("jpeg", "cmyk_8x8.jpg", jpeg(noise.convert("CMYK").resize((8, 8)), quality=75))
flat = Image.new("RGB", (16, 16), (200, 30, 60))
# The decompression bomb of issue 7: 633 bytes declaring 65500x65500 (4.3 gigapixels).
write("jpeg", "regression-bomb-65500x65500.jpg", with_declared_size(jpeg(flat, quality=75), 65500, 65500))
# Under the pixel limit, with data for 256 of its pixels: refused where the data ends.
write("jpeg", "regression-short-data-2000x2000.jpg", with_declared_size(jpeg(flat, quality=75), 2000, 2000))


def npy(array, version=None):
    out = io.BytesIO()
    if version is None:
        np.save(out, array)
    else:
        np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


def npy_header(dict_text, data=b""):
    """A version 1.0 file with the given header dict, padded as NumPy pads it."""
    header = dict_text
    while (10 + len(header) + 1) % 64:
        header += " "
    header = (header + "\n").encode()
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


write("npy", "f32_2x3.npy", npy(np.arange(6, dtype=np.float32).reshape(2, 3)))
write("npy", "f16_4.npy", npy(np.array([1.5, -2, 0, 65504], dtype=np.float16)))
write("npy", "i64_scalar.npy", npy(np.array(-7, dtype=np.int64)))
write("npy", "i32_empty.npy", npy(np.zeros((0, 3), dtype=np.int32)))
write("npy", "u8_3.npy", npy(np.array([0, 128, 255], dtype=np.uint8)))
write("npy", "i8_2x2_fortran.npy", npy(np.asfortranarray(np.array([[1, -2], [3, -4]], dtype=np.int8))))
write("npy", "bool_3.npy", npy(np.array([True, False, True])))
write("npy", "f32_version2.npy", npy(np.ones((2, 2), dtype=np.float32), version=(2, 0)))
write("npy", "f64_2.npy", npy(np.array([0.5, -1e300])))
# Shapes whose element count overflowed int64, and whose byte size wrapped to 0 in size_t.
write("npy", "regression-shape-overflow.npy",
      npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
write("npy", "regression-byte-size-wraps.npy",
      npy_header("{'descr': '<i8', 'fortran_order': False, 'shape': (2305843009213693952,), }"))
