"""BN-Inception in PyTorch, written from docs/paper.md section 2, as the reference the C# network
is compared with. Module names give the same state-dict keys as the C# network.

usage:
  bn_inception_reference.py count                  parameters at 224x224, 1000 classes
  bn_inception_reference.py parity DIR             see parity() below
"""
import json
import os
import platform
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# None: compute in the weights' type. torch.bfloat16: convolutions and the classifier compute in
# bfloat16 on casts of float32 weights (the parity check's "bfloat16-mixed" dtype).
COMPUTE_DTYPE = None


def _cpu_has_onednn_bfloat16():
    """PyTorch convolves bfloat16 with oneDNN only on x86 processors with AVX-512 BW, VL and DQ
    (read here from the kernel's flags). Elsewhere its reference convolution sums in bfloat16,
    measured 27 times further from the exact result than rounding the output alone; the C# engine
    then widens to float32 (docs/engine.md, "Processors without AVX-512"), so this does the same."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "i386"):
        return True  # as the C# engine: other architectures keep PyTorch's own path
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return True
    return {"avx512bw", "avx512vl", "avx512dq"} <= set(flags)


WIDEN_BFLOAT16_CONVOLUTIONS = not _cpu_has_onednn_bfloat16()


def _conv2d_in(dtype, x, weight, bias, stride, padding):
    """A convolution with operands rounded to dtype: in dtype, or where the CPU lacks oneDNN's
    bfloat16 kernels, on the rounded values widened to float32 with the output rounded to dtype,
    which is what oneDNN's bfloat16 kernels compute (float32 sums)."""
    weight = weight.to(dtype)
    bias = None if bias is None else bias.to(dtype)
    if dtype != torch.bfloat16 or not WIDEN_BFLOAT16_CONVOLUTIONS or x.device.type != "cpu":
        return F.conv2d(x, weight, bias, stride, padding)
    wide_bias = None if bias is None else bias.float()
    return F.conv2d(x.float(), weight.float(), wide_bias, stride, padding).to(dtype)


class ConvolutionBlock(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, padding=0, bn=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=not bn)
        self.bn = nn.BatchNorm2d(cout) if bn else None

    def forward(self, x):
        if COMPUTE_DTYPE is None:
            x = self.conv(x)
        else:
            # Mixed precision as the C# engine does it: a bfloat16 copy of the float32 weights, whose
            # gradient autograd casts back; BN gets bfloat16 input with float32 parameters.
            x = _conv2d_in(COMPUTE_DTYPE, x, self.conv.weight, self.conv.bias, self.conv.stride, self.conv.padding)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x)


class Inception(nn.Module):
    def __init__(self, cin, c1, r3, c3, rd, cd, pool, proj):
        super().__init__()
        self.pool = pool
        stride = 2 if pool == "pass" else 1
        if c1:
            self.branch1x1 = ConvolutionBlock(cin, c1, 1)
        self.branch3x3_reduce = ConvolutionBlock(cin, r3, 1)
        self.branch3x3 = ConvolutionBlock(r3, c3, 3, stride, 1)
        self.double3x3_reduce = ConvolutionBlock(cin, rd, 1)
        self.double3x3_1 = ConvolutionBlock(rd, cd, 3, 1, 1)
        self.double3x3_2 = ConvolutionBlock(cd, cd, 3, stride, 1)
        if proj:
            self.pool_proj = ConvolutionBlock(cin, proj, 1)

    def forward(self, x):
        out = []
        if hasattr(self, "branch1x1"):
            out.append(self.branch1x1(x))
        out.append(self.branch3x3(self.branch3x3_reduce(x)))
        out.append(self.double3x3_2(self.double3x3_1(self.double3x3_reduce(x))))
        if self.pool == "avg":
            out.append(self.pool_proj(F.avg_pool2d(x, 3, 1, 1, count_include_pad=True)))
        elif self.pool == "max":
            out.append(self.pool_proj(F.max_pool2d(x, 3, 1, 1)))
        else:
            out.append(F.max_pool2d(x, 3, 2, ceil_mode=True))
        return torch.cat(out, 1)


# docs/paper.md section 2: in, 1x1, 3x3 reduce, 3x3, double reduce, double, pool, projection
TABLE = {
    "3a": (192, 64, 64, 64, 64, 96, "avg", 32),
    "3b": (256, 64, 64, 96, 64, 96, "avg", 64),
    "3c": (320, 0, 128, 160, 64, 96, "pass", 0),
    "4a": (576, 224, 64, 96, 96, 128, "avg", 128),
    "4b": (576, 192, 96, 128, 96, 128, "avg", 128),
    "4c": (576, 160, 128, 160, 128, 160, "avg", 128),
    "4d": (608, 96, 128, 192, 160, 192, "avg", 128),
    "4e": (608, 0, 128, 192, 192, 256, "pass", 0),
    "5a": (1056, 352, 192, 320, 160, 224, "avg", 128),
    "5b": (1024, 352, 192, 320, 192, 224, "max", 128),
}


class BNInception(nn.Module):
    def __init__(self, classes=1000, channels=3):
        super().__init__()
        self.conv1 = ConvolutionBlock(channels, 64, 7, 2, 3)
        self.conv2_reduce = ConvolutionBlock(64, 64, 1)
        self.conv2 = ConvolutionBlock(64, 192, 3, 1, 1)
        for name, row in TABLE.items():
            setattr(self, "inception_" + name, Inception(*row))
        self.fc = nn.Linear(1024, classes)

    def forward(self, x):
        if COMPUTE_DTYPE is not None:
            x = x.to(COMPUTE_DTYPE)
        x = F.max_pool2d(self.conv1(x), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.conv2(self.conv2_reduce(x)), 3, 2, ceil_mode=True)
        for name in TABLE:
            x = getattr(self, "inception_" + name)(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        if COMPUTE_DTYPE is None:
            return self.fc(x)
        return F.linear(x, self.fc.weight.to(COMPUTE_DTYPE), self.fc.bias.to(COMPUTE_DTYPE)).float()


def parity(directory):
    """Reads config.json, weights.pt, input.bin (float32, or float64 when config says so) and labels.bin (int64) from DIR. Writes
    eval_logits.bin, train_logits.bin (batch statistics) and updated.pt: the state dict after one
    SGD step (momentum, optional Nesterov, weight decay on conv and fc weights only) on the
    cross-entropy of the training-mode logits. With dtype "bfloat16-mixed" these are computed in
    mixed precision, and eval_logits_float32.bin, train_logits_float32.bin and updated_float32.pt give the same in
    float32 from the same weights: how far bfloat16's rounding alone moves the results; and
    eval_gradients.pt and eval_gradients_float32.pt hold every parameter's gradient of the cross-entropy
    of the eval-mode logits (BN on its running statistics), which bfloat16 moves little. "threads", when
    given, is the caller's libtorch thread count (else PyTorch's default, one per core): a float32 convolution's weight gradient
    depends on it (which kernel, or how the sum is split; not traced), and a fresh network's batch
    normalisation amplifies the difference."""
    global COMPUTE_DTYPE
    config = json.load(open(os.path.join(directory, "config.json")))
    if "threads" in config:
        torch.set_num_threads(config["threads"])
    n, c, s = config["batch"], config["channels"], config["size"]
    float64 = config.get("dtype", "float32") == "float64"
    mixed = config.get("dtype") == "bfloat16-mixed"
    x = torch.from_numpy(np.fromfile(os.path.join(directory, "input.bin"), dtype="<f8" if float64 else "<f4").reshape(n, c, s, s).copy())
    labels = torch.from_numpy(np.fromfile(os.path.join(directory, "labels.bin"), dtype="<i8").copy())

    def load():
        net = BNInception(config["classes"], c)
        if float64:
            net = net.double()
        net.load_state_dict(torch.load(os.path.join(directory, "weights.pt")), strict=True)
        return net

    def step(net, suffix):
        net.train()
        # As the C# trainer sets it up: weight decay on convolution and classifier weights only.
        decayed = [p for name, p in net.named_parameters() if name.endswith("conv.weight") or name == "fc.weight"]
        exempt = [p for name, p in net.named_parameters() if not (name.endswith("conv.weight") or name == "fc.weight")]
        optimizer = torch.optim.SGD([{"params": decayed, "weight_decay": config["weight_decay"]}, {"params": exempt, "weight_decay": 0.0}],
                                    lr=config["lr"], momentum=config["momentum"], nesterov=config.get("nesterov", False))
        logits = net(x)
        logits.detach().numpy().astype("<f4").tofile(os.path.join(directory, "train_logits%s.bin" % suffix))
        F.cross_entropy(logits, labels).backward()
        optimizer.step()
        torch.save(net.state_dict(), os.path.join(directory, "updated%s.pt" % suffix))

    def evaluate(net, suffix):
        with torch.no_grad():
            net.eval()(x).numpy().astype("<f4").tofile(os.path.join(directory, "eval_logits%s.bin" % suffix))
        return net

    def eval_gradients(net, suffix):
        net.eval()
        F.cross_entropy(net(x), labels).backward()
        torch.save({name: p.grad for name, p in net.named_parameters()}, os.path.join(directory, "eval_gradients%s.pt" % suffix))
    COMPUTE_DTYPE = torch.bfloat16 if mixed else None
    step(evaluate(load(), ""), "")
    if mixed:
        eval_gradients(load(), "")
        COMPUTE_DTYPE = None
        step(evaluate(load(), "_float32"), "_float32")
        eval_gradients(load(), "_float32")


if __name__ == "__main__":
    torch.set_num_threads(2)
    if sys.argv[1] == "count":
        print(sum(p.numel() for p in BNInception().parameters()))
    elif sys.argv[1] == "parity":
        parity(sys.argv[2])
    else:
        raise SystemExit("unknown command " + sys.argv[1])
