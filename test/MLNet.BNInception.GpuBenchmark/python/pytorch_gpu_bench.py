"""One measurement of BN-Inception in the machine's own PyTorch, printed as one JSON line: the same
work as the GPU benchmark's C# side (MLNet.BNInception.GpuBenchmark), on the independent PyTorch
network of the engine's tests.

  train  forward, cross-entropy, backward and an SGD step, channels-last, random images and labels,
         with the optimizer settings of the engine's run beside it (TrainerOptions' defaults, the
         BN-x30 recipe, at a constant rate): learning rate 0.045, momentum 0.9, weight decay 4e-5 on
         the convolution and classifier weights only (a second group, BN's gamma and beta and the
         biases, without decay, as TrainerOptions.DecayBatchNormAndBias = false does), PyTorch's
         default implementation (foreach on CUDA); --precision bfloat16-autocast runs forward and
         loss under torch.autocast(bfloat16), PyTorch's own mixed precision
  score  eval mode under torch.inference_mode(), channels-last; --precision bfloat16 converts the
         network to bfloat16 (as the engine's scorer does); --fuse first folds every BN into the
         convolution before it, by hand (w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma /
         sqrt(var + eps)), as the engine's scorer does; a run scores --steps-per-run batches and
         reads their logits back once, at its end

--compile wraps the network in torch.compile (default mode). --data host keeps the images in
pageable host memory, and a thread of its own gathers each batch (training: in a new random order
every pass over the distinct batches, as ours), copies it into pinned memory and queues it, two
batches ahead of the step, which copies it to the device with non_blocking=True: what the
pin-memory thread of a DataLoader(shuffle=True, pin_memory=True) hands over, with one gather per
batch in place of its per-image collation (ours gathers whole batches too), all inside the timing.
(Ours: the trainer's reader thread gathers and pins two batches ahead likewise; the scorer pins
each batch on the calling thread, so in scoring PyTorch has the thread to itself.)
--data device has the batches on the device from the start. Timing: --warmup steps (scoring:
batches, rounded up to whole runs), then --iterations runs of --steps-per-run steps each, with
torch.cuda.synchronize() at every run's ends; the line gives each run's rate and their median, the
GPU's peak memory (torch.cuda.max_memory_allocated and max_memory_reserved) and the process's peak
resident memory. It also runs with --device cpu on Debian's PyTorch 1.13 (/usr/bin/python3), which
has no torch.compile: the line then says "compile": "unavailable" and the network runs eagerly.
"""
import argparse
import copy
import json
import os
import queue
import statistics
import sys
import threading
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "MLNet.BNInception.Engine.Tests", "python"))
from bn_inception_reference import BNInception, ConvolutionBlock  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="train", choices=["train", "score"])
parser.add_argument("--device", default="cuda")
parser.add_argument("--batch", type=int, default=256)
parser.add_argument("--side", type=int, default=224)
parser.add_argument("--classes", type=int, default=1000)
parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16-autocast", "bfloat16"])
parser.add_argument("--data", default="host", choices=["host", "device"])
parser.add_argument("--compile", action="store_true")
parser.add_argument("--fuse", action="store_true", help="score: fold BN into the convolutions first")
parser.add_argument("--warmup", type=int, default=16)
parser.add_argument("--iterations", type=int, default=3)
parser.add_argument("--steps-per-run", type=int, default=0, help="default 16 for train, 4 for score")
parser.add_argument("--distinct-batches", type=int, default=4)
args = parser.parse_args()
steps_per_run = args.steps_per_run or (4 if args.mode == "score" else 16)
wanted = {"train": ("float32", "bfloat16-autocast"), "score": ("float32", "bfloat16")}[args.mode]
if args.precision not in wanted:
    parser.error("--precision %s: %s takes %s" % (args.precision, args.mode, " or ".join(wanted)))
if args.fuse and args.mode != "score":
    parser.error("--fuse: only scoring folds BN")
if min(args.warmup, args.iterations, steps_per_run, args.distinct_batches) < 1 or args.batch < 2:
    parser.error("--batch must be at least 2; --warmup, --iterations, --steps-per-run and --distinct-batches at least 1")

device = torch.device(args.device)
cuda = device.type == "cuda"
if cuda and not torch.cuda.is_available():
    sys.exit("pytorch_gpu_bench: --device %s, but this PyTorch (%s) sees no CUDA device" % (args.device, torch.__version__))
compile_state = args.compile and hasattr(torch, "compile")


def synchronize():
    if cuda:
        torch.cuda.synchronize(device)


def device_name():
    if cuda:
        return torch.cuda.get_device_name(device)
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def peak_resident_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def random_data(count):
    """count random images and labels, drawn on the device (fast on a GPU), then left where --data
    says: on the device, or in pageable host memory (as ours keeps them)."""
    torch.manual_seed(0)
    images = torch.randn(count, 3, args.side, args.side, device=device)
    labels = torch.randint(0, args.classes, (count,), device=device)
    if args.data == "host":
        images, labels = images.cpu(), labels.cpu()
    return images, labels


class PinnedBatches:
    """count batches of the host tensors' rows, as a DataLoader(pin_memory=True)'s pin-memory thread
    hands them over: a thread of its own gathers each batch (shuffle: in a new random order every
    pass, else in order), copies it into pinned memory on a GPU machine and queues it, AHEAD batches
    ahead of the step that takes it with next(). Whatever the thread raises, next() raises."""
    AHEAD = 2  # the engine's BatchPrefetcher.DefaultBatchesAhead, and a DataLoader's prefetch_factor

    def __init__(self, tensors, batch, count, shuffle):
        self._queue = queue.Queue(maxsize=self.AHEAD)
        threading.Thread(target=self._produce, args=(tensors, batch, count, shuffle), daemon=True).start()

    def _produce(self, tensors, batch, count, shuffle):
        try:
            generator = torch.Generator().manual_seed(0)
            rows = tensors[0].shape[0]
            if rows < batch:
                raise ValueError("%d rows make no batch of %d" % (rows, batch))
            served = 0
            while served < count:
                order = torch.randperm(rows, generator=generator) if shuffle else torch.arange(rows)
                for start in range(0, rows - batch + 1, batch):
                    gathered = [tensor.index_select(0, order[start:start + batch]) for tensor in tensors]
                    self._queue.put([tensor.pin_memory() for tensor in gathered] if cuda else gathered)
                    served += 1
                    if served == count:
                        return
        except BaseException as error:  # noqa: BLE001 - handed to the step, which raises it
            self._queue.put(error)

    def next(self):
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return [tensor.to(device, non_blocking=True) for tensor in item]


def fold_batch_norm(network):
    """Every BN folded into the convolution before it, by hand, for eval mode: w' = w * gamma /
    sqrt(var + eps) per output channel, b' = beta + (b - mean) * gamma / sqrt(var + eps), and the BN
    removed (the block skips a BN that is None). The engine's scorer scores with such a network."""
    blocks = [module for module in network.modules() if isinstance(module, ConvolutionBlock) and module.bn is not None]
    with torch.no_grad():
        for block in blocks:
            conv, bn = block.conv, block.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            folded = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
            folded.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            folded.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
            block.conv, block.bn = folded, None
    return network


def fold_error(network):
    """The fold checked on a CPU copy whose BNs have random statistics and affine parameters (a new
    network's are 0, 1, 1 and 0, which would hide a wrong formula): the largest difference of the
    float32 logits of 2 images, over the largest logit. The images are 64 x 64, whatever the run's
    side (the network takes any multiple of 32 from 64): the check costs each --fuse process well
    under a second of the GPU session's budget."""
    generator = torch.Generator().manual_seed(1)
    reference = copy.deepcopy(network).cpu().float().eval()
    with torch.no_grad():
        for bn in (module for module in reference.modules() if isinstance(module, torch.nn.BatchNorm2d)):
            for tensor, low, high in ((bn.running_mean, -0.5, 0.5), (bn.running_var, 0.5, 2.0), (bn.weight, 0.5, 1.5), (bn.bias, -0.5, 0.5)):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)
        x = torch.randn(2, 3, 64, 64, generator=generator)
        expected = reference(x)
        difference = (fold_batch_norm(copy.deepcopy(reference))(x) - expected).abs().max()
    return (difference / expected.abs().max()).item()


# The optimizer of the engine's run beside this one: TrainerOptions' defaults (the BN-x30 recipe),
# which the C# side trains with at a constant rate. gpu_report.py checks that both lines agree.
OPTIMIZER = {"learning_rate": 0.045, "momentum": 0.9, "nesterov": False, "weight_decay": 4e-5,
             "decay_batch_norm_and_bias": False, "schedule": "constant"}

torch.manual_seed(0)
net = BNInception(args.classes, 3)
fold_check = None
if args.mode == "train":
    net = net.to(device, memory_format=torch.channels_last).train()
    model = torch.compile(net) if compile_state else net
    decayed = [p for name, p in net.named_parameters() if name.endswith("conv.weight") or name == "fc.weight"]
    exempt = [p for name, p in net.named_parameters() if not (name.endswith("conv.weight") or name == "fc.weight")]
    optimizer = torch.optim.SGD([{"params": decayed, "weight_decay": OPTIMIZER["weight_decay"]}, {"params": exempt, "weight_decay": 0.0}],
                                lr=OPTIMIZER["learning_rate"], momentum=OPTIMIZER["momentum"], nesterov=OPTIMIZER["nesterov"])
    autocast = args.precision == "bfloat16-autocast"
    images, labels = random_data(args.distinct_batches * args.batch)
    if args.data == "host":
        loader = PinnedBatches((images, labels), args.batch, args.warmup + args.iterations * steps_per_run, shuffle=True)
    else:
        image_batches, label_batches = images.split(args.batch), labels.split(args.batch)

    def step(number):
        if args.data == "host":
            x, y = loader.next()
        else:
            x, y = image_batches[number % len(image_batches)], label_batches[number % len(image_batches)]
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    warmup_runs = None
else:
    dtype = torch.bfloat16 if args.precision == "bfloat16" else torch.float32
    net = net.eval()
    if args.fuse:
        fold_check = fold_error(net)
        net = fold_batch_norm(net)
    net = net.to(device, dtype=dtype, memory_format=torch.channels_last)
    model = torch.compile(net) if compile_state else net
    images, _ = random_data(steps_per_run * args.batch)
    warmup_runs = -(-args.warmup // steps_per_run)
    if args.data == "host":
        loader = PinnedBatches((images,), args.batch, (warmup_runs + args.iterations) * steps_per_run, shuffle=False)
    else:
        image_batches = images.split(args.batch)

    def step(number):
        with torch.inference_mode():
            logits = []
            for i in range(steps_per_run):
                batch = loader.next()[0] if args.data == "host" else image_batches[i]
                logits.append(model(batch.to(dtype).contiguous(memory_format=torch.channels_last)).float())
            return torch.cat(logits).cpu()

if cuda:
    torch.cuda.reset_peak_memory_stats(device)
started = time.perf_counter()
rates = []
if args.mode == "train":
    readings = []
    for number in range(args.warmup + args.iterations * steps_per_run):
        step(number)
        done = number + 1
        if done >= args.warmup and (done - args.warmup) % steps_per_run == 0:
            synchronize()
            readings.append(time.perf_counter())
    warmup_seconds = readings[0] - started
    rates = [steps_per_run * args.batch / (end - start) for start, end in zip(readings, readings[1:])]
else:
    for number in range(warmup_runs):
        step(number)
    synchronize()
    warmup_seconds = time.perf_counter() - started
    for number in range(args.iterations):
        start = time.perf_counter()
        step(number)  # reads the logits back, which waits for the device
        rates.append(steps_per_run * args.batch / (time.perf_counter() - start))

def cudnn_allow_tf32():
    # PyTorch 2.9 and later may refuse the old flag's read once the newer fp32_precision settings
    # have been used (torch.compile can set them): a measurement must not lose its line to it.
    try:
        return torch.backends.cudnn.allow_tf32
    except Exception as error:  # noqa: BLE001 - any failure of a read that only describes the run
        return "unreadable: %s" % error


print(json.dumps({
    "engine": "PyTorch %s" % torch.__version__,
    "mode": args.mode, "device": args.device, "data": args.data, "precision": args.precision,
    "compile": compile_state if (compile_state or not args.compile) else "unavailable",
    "image_side": args.side, "batch": args.batch, "classes": args.classes,
    "warmup_steps": args.warmup, "steps_per_run": steps_per_run,
    "images_per_second": statistics.median(rates), "runs": rates,
    "warmup_seconds": warmup_seconds,
    "optimizer": dict(OPTIMIZER, implementation="torch.optim.SGD, two parameter groups, PyTorch's default (foreach on CUDA)") if args.mode == "train" else None,
    "batch_norm_folded": args.fuse if args.mode == "score" else None, "fold_relative_error": fold_check,
    "device_name": device_name(),
    "cudnn_allow_tf32": cudnn_allow_tf32(), "cudnn_benchmark": torch.backends.cudnn.benchmark,
    "max_memory_allocated_bytes": torch.cuda.max_memory_allocated(device) if cuda else None,
    "max_memory_reserved_bytes": torch.cuda.max_memory_reserved(device) if cuda else None,
    "peak_resident_bytes": peak_resident_bytes(),
}))
