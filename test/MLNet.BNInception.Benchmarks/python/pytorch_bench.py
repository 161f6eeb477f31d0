"""One measurement of BN-Inception's throughput in Debian's PyTorch 1.13, printed as one JSON line:
the same work as the C# benchmark, on the independent PyTorch network of the engine's tests.

  train  forward + backward + SGD step (momentum 0.9) in training mode; --precision
         bfloat16-autocast runs forward and loss under torch.autocast("cpu", torch.bfloat16),
         PyTorch's own mixed precision
  infer  eval mode under torch.inference_mode(); --fuse folds BN into the convolutions first
         (torch.fx's conv-BN fusion), as the engine's scorer does; --precision bfloat16-autocast
         runs it under torch.autocast("cpu", torch.bfloat16)
--layout channels-last (model.to(memory_format=torch.channels_last)) or contiguous. --threads sets
PyTorch's thread count; by default BNINCEPTION_NUM_THREADS, as the C# side reads it, so that a
command typed by hand gives both sides the same count (PyTorch's own default where it is unset).
The line gives the median of the timed steps (the mean of the middle two for an even count), the
warm-up and timed steps it ran, and the process's peak resident memory (VmHWM), read at the end.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "MLNet.BNInception.Engine.Tests", "python"))
from bn_inception_reference import BNInception  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="train", choices=["train", "infer"])
parser.add_argument("--side", type=int, default=224)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--layout", default="channels-last", choices=["channels-last", "contiguous"])
parser.add_argument("--fuse", action="store_true")
parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16-autocast"])
parser.add_argument("--warmup", type=int, default=2)
parser.add_argument("--iterations", type=int, default=5)
parser.add_argument("--threads", type=int, default=int(os.environ.get("BNINCEPTION_NUM_THREADS") or 0),
                    help="default: BNINCEPTION_NUM_THREADS, else PyTorch's own")
args = parser.parse_args()

if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(0)
net = BNInception(1000, 3)
images = torch.randn(args.batch, 3, args.side, args.side)
labels = torch.randint(0, 1000, (args.batch,))
memory_format = torch.channels_last if args.layout == "channels-last" else torch.contiguous_format

if args.mode == "train":
    net = net.to(memory_format=memory_format).train()
    images = images.to(memory_format=memory_format)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    autocast = args.precision == "bfloat16-autocast"

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
else:
    net = net.eval()
    if args.fuse:
        from torch.fx.experimental.optimization import fuse
        net = fuse(net)
    net = net.to(memory_format=memory_format)
    images = images.to(memory_format=memory_format)

    autocast = args.precision == "bfloat16-autocast"

    def step():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            net(images)

for _ in range(args.warmup):
    step()
rates = []
for _ in range(args.iterations):
    start = time.perf_counter()
    step()
    rates.append(args.batch / (time.perf_counter() - start))
rates.sort()


def peak_resident_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


print(json.dumps({
    "engine": "PyTorch %s (Debian)" % torch.__version__,
    "mode": args.mode, "layout": args.layout, "precision": args.precision, "fused": args.fuse,
    "image_side": args.side, "batch": args.batch, "threads": torch.get_num_threads(),
    "warmup_steps": args.warmup, "timed_steps": args.iterations,
    "images_per_second": statistics.median(rates), "runs": rates, "peak_resident_bytes": peak_resident_bytes(),
}))
