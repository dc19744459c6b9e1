#!/usr/bin/env python3
"""Generates Kiln's benchmark set of real model architectures as ONNX files.

A development script: CI and the test suite never run it, and it installs nothing. It needs
(not Kiln dependencies; CPU builds are enough):

    pip install torch torchvision transformers onnx onnxruntime numpy

Every model is built with seeded random weights (torch.manual_seed, no pretrained download, no
network access), exported with the TorchScript-based ONNX exporter (opset 17, batch 1, static
shapes), then run once in ONNX Runtime and compared with torch's own output (max abs diff printed).

Usage:
    python3 benchmarks/models/generate.py [--out DIR] [--only NAME,...] [--write-checksums]

--out defaults to benchmarks/models/out/ (git-ignored). The script writes DIR/checksums.sha256;
--write-checksums also copies it to benchmarks/models/checksums.sha256 (committed), whose header
records the torch and transformers versions that produced the files. docs/benchmarks.md describes
every model.
"""
import argparse
import hashlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17
SEED = 0


def _torch():
    import torch
    return torch


# ----------------------------------------------------------------------------------------------
# Models written here (no torchvision equivalent).


def make_unet():
    """A small UNet: 3 encoder levels (Conv-BN-ReLU x2, MaxPool), ConvTranspose upsampling, skip
    Concat, 1x1 head. Input [1,3,256,256] -> [1,2,256,256]."""
    torch = _torch()
    nn = torch.nn

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self, c=(32, 64, 128, 256)):
            super().__init__()
            self.enc = nn.ModuleList([block(3, c[0]), block(c[0], c[1]), block(c[1], c[2])])
            self.pool = nn.MaxPool2d(2)
            self.mid = block(c[2], c[3])
            self.up = nn.ModuleList([nn.ConvTranspose2d(c[3], c[2], 2, stride=2),
                                     nn.ConvTranspose2d(c[2], c[1], 2, stride=2),
                                     nn.ConvTranspose2d(c[1], c[0], 2, stride=2)])
            self.dec = nn.ModuleList([block(2 * c[2], c[2]), block(2 * c[1], c[1]),
                                      block(2 * c[0], c[0])])
            self.head = nn.Conv2d(c[0], 2, 1)

        def forward(self, x):
            skips = []
            for e in self.enc:
                x = e(x)
                skips.append(x)
                x = self.pool(x)
            x = self.mid(x)
            for up, dec, s in zip(self.up, self.dec, reversed(skips)):
                x = dec(torch.cat([up(x), s], dim=1))
            return self.head(x)

    return UNet(), [("image", (1, 3, 256, 256), "float32")]


def make_yolo():
    """A YOLO-style detector: a strided Conv-BN-SiLU backbone with CSP-like blocks, an FPN neck
    with nn.Upsample (ONNX Resize, nearest) and Concat, and three 1x1 detection heads
    (3 anchors x (5 + 80 classes)). Input [1,3,320,320] -> three maps at strides 8, 16, 32."""
    torch = _torch()
    nn = torch.nn

    def cbs(cin, cout, k=3, s=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout),
                             nn.SiLU())

    class Csp(nn.Module):
        def __init__(self, cin, cout, n=1):
            super().__init__()
            h = cout // 2
            self.a, self.b = cbs(cin, h, 1), cbs(cin, h, 1)
            self.m = nn.Sequential(*[nn.Sequential(cbs(h, h, 1), cbs(h, h, 3)) for _ in range(n)])
            self.out = cbs(2 * h, cout, 1)

        def forward(self, x):
            a = self.a(x)
            return self.out(torch.cat([a + self.m(a), self.b(x)], dim=1))

    class Yolo(nn.Module):
        def __init__(self, w=(32, 64, 128, 256, 512), no=3 * 85):
            super().__init__()
            self.stem = cbs(3, w[0], 3, 2)
            self.s2 = nn.Sequential(cbs(w[0], w[1], 3, 2), Csp(w[1], w[1]))
            self.s3 = nn.Sequential(cbs(w[1], w[2], 3, 2), Csp(w[2], w[2], 2))
            self.s4 = nn.Sequential(cbs(w[2], w[3], 3, 2), Csp(w[3], w[3], 2))
            self.s5 = nn.Sequential(cbs(w[3], w[4], 3, 2), Csp(w[4], w[4]))
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.l5 = cbs(w[4], w[3], 1)
            self.n4 = Csp(2 * w[3], w[3])
            self.l4 = cbs(w[3], w[2], 1)
            self.n3 = Csp(2 * w[2], w[2])
            self.h3 = nn.Conv2d(w[2], no, 1)
            self.h4 = nn.Conv2d(w[3], no, 1)
            self.h5 = nn.Conv2d(w[3], no, 1)

        def forward(self, x):
            p3 = self.s3(self.s2(self.stem(x)))
            p4 = self.s4(p3)
            p5 = self.l5(self.s5(p4))
            n4 = self.n4(torch.cat([self.up(p5), p4], dim=1))
            n3 = self.n3(torch.cat([self.up(self.l4(n4)), p3], dim=1))
            return self.h3(n3), self.h4(n4), self.h5(p5)

    return Yolo(), [("image", (1, 3, 320, 320), "float32")]


def make_text_rnn(kind):
    """Embedding(vocab 10000, 128) + 2-layer LSTM/GRU (hidden 256, batch_first) + Linear(256, 10000)
    on every step. Input int64 ids [1,64] -> logits [1,64,10000]."""
    torch = _torch()
    nn = torch.nn

    class TextRnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10000, 128)
            cell = nn.LSTM if kind == "lstm" else nn.GRU
            self.rnn = cell(128, 256, num_layers=2, batch_first=True)
            self.out = nn.Linear(256, 10000)

        def forward(self, ids):
            y, _ = self.rnn(self.emb(ids))
            return self.out(y)

    return TextRnn(), [("input_ids", (1, 64), "int64")]


# ----------------------------------------------------------------------------------------------
# torchvision and transformers models.


def make_torchvision(name, size=224):
    import torchvision.models as tvm
    return getattr(tvm, name)(weights=None), [("image", (1, 3, size, size), "float32")]


def make_segmentation(name):
    import torchvision.models.segmentation as seg
    torch = _torch()

    class OutOnly(torch.nn.Module):  # the dict output becomes one tensor
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)["out"]

    kwargs = {"weights": None, "weights_backbone": None}
    if name.startswith("deeplab"):
        kwargs["aux_loss"] = False
    return OutOnly(getattr(seg, name)(**kwargs)), [("image", (1, 3, 520, 520), "float32")]


def _hf_wrap(model, inputs):
    """Wraps a transformers model so that it returns last_hidden_state (one tensor)."""
    torch = _torch()

    class Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            out = self.m(**dict(zip([n for n, _, _ in inputs], args)))
            return out.last_hidden_state

    return Wrap(model), inputs


def make_bert():
    import transformers as tf
    cfg = tf.BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                        num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512)
    cfg._attn_implementation = "eager"
    return _hf_wrap(tf.BertModel(cfg, add_pooling_layer=False),
                    [("input_ids", (1, 128), "int64"), ("attention_mask", (1, 128), "int64")])


def make_distilbert():
    import transformers as tf
    cfg = tf.DistilBertConfig(vocab_size=30522, dim=768, n_layers=6, n_heads=12, hidden_dim=3072)
    cfg._attn_implementation = "eager"
    return _hf_wrap(tf.DistilBertModel(cfg),
                    [("input_ids", (1, 128), "int64"), ("attention_mask", (1, 128), "int64")])


def make_gpt2():
    import transformers as tf
    cfg = tf.GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                        use_cache=False)
    cfg._attn_implementation = "eager"
    # With an attention_mask input, transformers skips its packed-sequence detection (torch.diff,
    # which the TorchScript exporter cannot export).
    return _hf_wrap(tf.GPT2Model(cfg),
                    [("input_ids", (1, 128), "int64"), ("attention_mask", (1, 128), "int64")])


def make_vit():
    import transformers as tf
    cfg = tf.ViTConfig(image_size=224, patch_size=16, hidden_size=384, num_hidden_layers=6,
                       num_attention_heads=6, intermediate_size=1536)
    cfg._attn_implementation = "eager"
    return _hf_wrap(tf.ViTModel(cfg, add_pooling_layer=False),
                    [("pixel_values", (1, 3, 224, 224), "float32")])


MODELS = {
    "resnet50": lambda: make_torchvision("resnet50"),
    "efficientnet_b0": lambda: make_torchvision("efficientnet_b0"),
    "mobilenet_v3_large": lambda: make_torchvision("mobilenet_v3_large"),
    "convnext_tiny": lambda: make_torchvision("convnext_tiny"),
    "regnet_y_400mf": lambda: make_torchvision("regnet_y_400mf"),
    "lraspp_mobilenet_v3": lambda: make_segmentation("lraspp_mobilenet_v3_large"),
    "deeplabv3_mobilenet_v3": lambda: make_segmentation("deeplabv3_mobilenet_v3_large"),
    "unet_small": make_unet,
    "yolo_small": make_yolo,
    "bert_base": make_bert,
    "distilbert": make_distilbert,
    "gpt2": make_gpt2,
    "vit_small": make_vit,
    "lstm_text": lambda: make_text_rnn("lstm"),
    "gru_text": lambda: make_text_rnn("gru"),
}


def make_inputs(inputs, seed=SEED):
    """The inputs the export and check use: uniform [-1, 1) floats, ids in [0, 1000), masks of 1."""
    rng = np.random.default_rng(seed)
    arrays = []
    for name, shape, dtype in inputs:
        if dtype == "int64":
            a = (np.ones(shape, np.int64) if name == "attention_mask"
                 else rng.integers(0, 1000, size=shape, dtype=np.int64))
        else:
            a = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
        arrays.append(a)
    return arrays


def export(name, out_dir):
    torch = _torch()
    import onnxruntime as ort
    torch.manual_seed(SEED)
    model, inputs = MODELS[name]()
    model.eval()
    arrays = make_inputs(inputs)
    args = tuple(torch.from_numpy(a) for a in arrays)
    path = os.path.join(out_dir, name + ".onnx")
    with torch.no_grad():
        ref = model(*args)
        refs = [r.numpy() for r in (ref if isinstance(ref, tuple) else (ref,))]
        torch.onnx.export(model, args, path, opset_version=OPSET, dynamo=False,
                          input_names=[n for n, _, _ in inputs],
                          output_names=[f"output_{i}" for i in range(len(refs))],
                          do_constant_folding=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: a for (n, _, _), a in zip(inputs, arrays)})
    diff = max(float(np.max(np.abs(g - r))) for g, r in zip(got, refs))
    size = os.path.getsize(path)
    print(f"{name:24s} {size / 1e6:8.1f} MB  inputs "
          + ", ".join(f"{n}:{d}{list(s)}" for n, s, d in inputs)
          + f"  ORT vs torch max abs diff {diff:.3g}", flush=True)
    return path


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "out"))
    p.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(MODELS))
    p.add_argument("--write-checksums", action="store_true",
                   help="also update the committed benchmarks/models/checksums.sha256")
    a = p.parse_args()
    names = [n for n in a.only.split(",") if n] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    os.makedirs(a.out, exist_ok=True)
    failed = []
    for n in names:
        try:
            export(n, a.out)
        except Exception as e:  # one model's failure does not stop the others
            print(f"{n}: FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            failed.append(n)

    torch = _torch()
    import transformers
    header = (f"# SHA-256 of benchmarks/models/generate.py exports (opset {OPSET}, seed {SEED}).\n"
              f"# torch {torch.__version__}, transformers {transformers.__version__}\n")
    lines = [f"{sha256(os.path.join(a.out, n + '.onnx'))}  {n}.onnx\n"
             for n in sorted(MODELS) if os.path.exists(os.path.join(a.out, n + ".onnx"))]
    text = header + "".join(lines)
    with open(os.path.join(a.out, "checksums.sha256"), "w") as f:
        f.write(text)
    if a.write_checksums:
        with open(os.path.join(HERE, "checksums.sha256"), "w") as f:
            f.write(text)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
