"""ONNX Runtime peer of `bench_extract` (crates/encoder/examples/bench_extract.rs).

The same EfficientNet-Lite0 (scripts/efficientnet_ref.py, ImageNet weights, TF SAME padding, up to
its pooled 1280 features) exported to ONNX by torch's exporter (batch 32, opset 17), run by ONNX
Runtime's CPU execution provider with every graph optimisation (BatchNorm folded into the
convolutions, Pad and Clip fused into them, its NCHWc layout) and as many intra-op threads as
torch's default (webly's). Images as the PyTorch peer prepares them (bench_extract.py: Pillow in
one DataLoader worker, batches of 32). The exported model's features are checked against torch's
on the first batch (max |difference| printed). f32 only: ONNX Runtime's CPU provider has no
bfloat16 convolution, and f32 is its fastest floating-point mode here. Prints
`ort_extract_images_per_s=...`.
Usage: python bench_extract_ort.py DIR IMAGES CROP RESIZE ONNX_FILE
"""
import os
import sys
import time

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_extract import BATCH, Images, jpegs  # noqa: E402
from efficientnet_ref import model  # noqa: E402


class Features(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.features(x)


def export(path, crop):
    net = Features(model("tf_same")).eval()
    x = torch.zeros(BATCH, 3, crop, crop)
    tmp = path + ".tmp"
    torch.onnx.export(net, (x,), tmp, input_names=["images"], output_names=["features"],
                      opset_version=17, dynamo=False)
    os.replace(tmp, path)
    return net


def main():
    root, n, crop, resize, onnx_file = sys.argv[1], *(int(a) for a in sys.argv[2:5]), sys.argv[5]
    net = export(onnx_file, crop)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(onnx_file, so, providers=["CPUExecutionProvider"])
    loader = torch.utils.data.DataLoader(Images(jpegs(root)[:n], resize, crop),
                                         batch_size=BATCH, num_workers=1)
    first = next(iter(loader))
    with torch.no_grad():
        want = net(first).numpy()
    got = session.run(None, {"images": first.numpy()})[0]
    print(f"ort_max_abs_difference_to_torch={np.abs(got - want).max():.2e}")
    t = time.perf_counter()
    rows = 0
    for x in loader:
        x = x.numpy()
        real = x.shape[0]
        if real < BATCH:  # the exported graph has a fixed batch: pad the last one
            x = np.concatenate([x, np.zeros((BATCH - real,) + x.shape[1:], np.float32)])
        session.run(None, {"images": x})
        rows += real
    secs = time.perf_counter() - t
    print(f"ort_threads={so.intra_op_num_threads}")
    print(f"ort_extract_images_per_s={rows / secs:.1f}")


if __name__ == "__main__":
    main()
