"""PyTorch's side of the state-dict tests (PyTorchStateDictTests.cs).

usage:
  torch_save_reference.py write DIR          write .pt files with torch.save, and DIR/NAME.json describing each
  torch_save_reference.py read FILE          torch.load FILE and print the same description as JSON
  torch_save_reference.py resave FILE OUT    torch.load FILE, torch.save it again as OUT, print FILE's description
  torch_save_reference.py load-module FILE   load FILE strictly into the module the C# side mirrors
  torch_save_reference.py check-layouts FILE compare FILE's tensors with the same values built here

A description lists the entries in order: key, dtype, shape and the raw little-endian bytes (base64).
"""
import base64
import collections
import json
import os
import sys
import zipfile

import numpy
import torch


def raw_bytes(tensor):
    tensor = tensor.detach().contiguous()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)  # numpy has no bfloat16; the bits are what is compared
    return tensor.numpy().tobytes()


def describe(state):
    return [
        {
            "key": key,
            "dtype": str(value.dtype).replace("torch.", ""),
            "shape": list(value.shape),
            "data": base64.b64encode(raw_bytes(value)).decode("ascii"),
        }
        for key, value in state.items()
    ]


def from_bits(bits, dtype):
    """A 16-bit float tensor holding exactly these bit patterns (NaN payloads and signed zeros included)."""
    return torch.from_numpy(numpy.array(bits, dtype=numpy.uint16).view(numpy.int16)).view(dtype)


# +0, -0, smallest and largest subnormal, 1, largest finite, +inf, -inf, quiet NaN, NaN with a payload, negative NaN, 1/3.
FLOAT16_BITS = [0x0000, 0x8000, 0x0001, 0x03FF, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7D01, 0xFFFF, 0x3555]
BFLOAT16_BITS = [0x0000, 0x8000, 0x0001, 0x007F, 0x3F80, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFFF, 0x3EAB]


class RebuiltFromType:
    """Pickles a tensor the way PyTorch 2.x does when it carries Python attributes (1.13 only does so for subclasses)."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        func, args = self.tensor._reduce_ex_internal(2)
        return (torch._tensor._rebuild_from_type_v2, (func, torch.Tensor, args, {"note": "an attribute"}))


class TaggedTensor(torch.Tensor):
    """A subclass the C# reader cannot build; pickled as __main__.TaggedTensor."""


def write(directory):
    torch.manual_seed(2015)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(12, 4))
    model(torch.randn(5, 2, 4, 4))  # moves the running statistics away from their defaults
    base = torch.randn(4, 6)
    plain = {
        "weights": torch.randn(2, 3),
        "doubles": torch.randn(3, dtype=torch.float64),
        "indices": torch.arange(-3, 3),
        "counter": torch.tensor(7),
        "pixels": torch.randint(0, 256, (2, 2), dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
        "ints": torch.tensor([1, -2], dtype=torch.int32),
        "shorts": torch.tensor([-32768, 32767], dtype=torch.int16),
        "chars": torch.tensor([-128, 127], dtype=torch.int8),
        "halves": torch.randn(3).half(),
        "brains": torch.randn(3).bfloat16(),
        "empty": torch.zeros(0, 3),
    }
    parameter = torch.nn.Parameter(torch.randn(3))
    tagged = torch.randn(2)
    views = {
        "base": base,
        "row": base[1],
        "columns": base[:, 2:5],
        "transposed": base.t(),
        "expanded": base[0].expand(3, 6),  # stride 0: the storage holds one row
        "channels_last": torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last),  # stored N, H, W, C
    }
    half = {
        "float16": from_bits(FLOAT16_BITS, torch.float16).reshape(3, 4),
        "bfloat16": from_bits(BFLOAT16_BITS, torch.bfloat16).reshape(3, 4).t(),
    }
    # name: (what torch.save writes, the tensors that should come back)
    files = {
        "state_dict": (model.state_dict(), None),  # an OrderedDict carrying _metadata
        "plain": (plain, None),
        "views": (views, None),
        "protocol4": (plain, None),
        "wrapped": ({"parameter": parameter, "from_type": RebuiltFromType(tagged)}, {"parameter": parameter, "from_type": tagged}),
        "half": (half, None),
    }
    for name, (saved, expected) in files.items():
        path = os.path.join(directory, name + ".pt")
        if name == "protocol4":
            torch.save(saved, path, pickle_protocol=4)
        else:
            torch.save(saved, path)
        with open(os.path.join(directory, name + ".json"), "w") as f:
            json.dump(describe(expected or saved), f)
    torch.save({"model": {"w": base}, "optimizer": {"m": base * 2}}, os.path.join(directory, "nested.pt"))
    torch.save(plain, os.path.join(directory, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save({"w": base, "epoch": 3}, os.path.join(directory, "not_only_tensors.pt"))
    torch.save({"w": base, "counts": collections.Counter(a=1)}, os.path.join(directory, "other_object.pt"))
    torch.save({"w": torch.ones(2).as_subclass(TaggedTensor)}, os.path.join(directory, "subclass.pt"))
    # 4 bytes of storage seen 2**29 times by a stride-0 view: 2 GiB for whoever gives each tensor memory of its own.
    torch.save({"bias": torch.zeros(1).expand(512, 1024, 1024)}, os.path.join(directory, "expanded_huge.pt"))
    # 64 MB of zeros viewed 5 times over (320 MB), its record deflated to a few kB: small in the file, large once read.
    deflated = os.path.join(directory, "deflated_expanded.pt")
    torch.save({"w": torch.zeros(16 << 20).as_strided((5, 16 << 20), (0, 1))}, deflated)
    with zipfile.ZipFile(deflated) as stored:
        records = [(info.filename, stored.read(info)) for info in stored.infolist()]
    with zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as compressed:
        for name, data in records:
            compressed.writestr(name, data)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(directory, "torchscript.pt"))


def load(path):
    loaded = torch.load(path)
    if not isinstance(loaded, collections.OrderedDict) and type(loaded) is not dict:
        raise SystemExit(f"loaded a {type(loaded)}")
    return loaded


def load_module(path):
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    state = load(path)
    if list(state.keys()) != list(module.state_dict().keys()):
        raise SystemExit(f"unexpected keys {list(state.keys())}")
    module.load_state_dict(state, strict=True)
    print(json.dumps(describe(module.state_dict())))


def check_layouts(path):
    """The C# side saves these values from channels-last tensors and strided views; each must read back as built here."""
    grid = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    matrix = torch.arange(4 * 6, dtype=torch.float64).reshape(4, 6)
    expected = {
        "channels_last": grid,
        "channels_last_bfloat16": grid.to(torch.bfloat16),
        "transposed": matrix.t(),
        "slice": matrix[1:3, 2:5],
        "every_other_column": matrix[:, ::2],
        "expanded": torch.arange(3).expand(2, 3),
    }
    loaded = load(path)
    verdicts = {}
    for key, value in loaded.items():
        want = expected.get(key)
        if want is None:
            verdicts[key] = "not expected"
        elif value.dtype != want.dtype or value.shape != want.shape:
            verdicts[key] = f"{value.dtype} {list(value.shape)}, expected {want.dtype} {list(want.shape)}"
        elif not torch.equal(value, want):
            verdicts[key] = f"values differ: {value.flatten().tolist()}"
        else:
            verdicts[key] = "equal"
    print(json.dumps(verdicts))


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    if command == "write":
        write(argument)
    elif command == "read":
        print(json.dumps(describe(load(argument))))
    elif command == "resave":
        state = load(argument)
        torch.save(state, sys.argv[3])
        print(json.dumps(describe(state)))
    elif command == "load-module":
        load_module(argument)
    elif command == "check-layouts":
        check_layouts(argument)
    else:
        raise SystemExit(f"unknown command {command}")
