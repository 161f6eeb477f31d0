"""PyTorch's side of the state-dict tests.

usage:
  torch_save_reference.py write DIR   write .pt files with torch.save, and DIR/NAME.json describing each
  torch_save_reference.py read FILE   torch.load FILE and print the same description as JSON
  torch_save_reference.py load-module FILE   load FILE strictly into the module the C# side mirrors

A description lists the entries in order: key, dtype, shape and the raw little-endian bytes (base64).
"""
import base64
import collections
import json
import os
import sys

import torch


def describe(state):
    return [
        {
            "key": key,
            "dtype": str(value.dtype).replace("torch.", ""),
            "shape": list(value.shape),
            "data": base64.b64encode(value.detach().contiguous().numpy().tobytes()).decode("ascii"),
        }
        for key, value in state.items()
    ]


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
        "empty": torch.zeros(0, 3),
    }
    parameter = torch.nn.Parameter(torch.randn(3))
    tagged = torch.randn(2)
    # name: (what torch.save writes, the tensors that should come back)
    files = {
        "state_dict": (model.state_dict(), None),  # an OrderedDict carrying _metadata
        "plain": (plain, None),
        "views": ({"base": base, "row": base[1], "columns": base[:, 2:5], "transposed": base.t()}, None),
        "protocol4": (plain, None),
        "wrapped": ({"parameter": parameter, "from_type": RebuiltFromType(tagged)}, {"parameter": parameter, "from_type": tagged}),
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
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(directory, "torchscript.pt"))


def load_module(path):
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    state = torch.load(path)
    if list(state.keys()) != list(module.state_dict().keys()):
        raise SystemExit(f"unexpected keys {list(state.keys())}")
    module.load_state_dict(state, strict=True)
    print(json.dumps(describe(module.state_dict())))


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    if command == "write":
        write(argument)
    elif command == "read":
        loaded = torch.load(argument)
        if not isinstance(loaded, collections.OrderedDict) and type(loaded) is not dict:
            raise SystemExit(f"loaded a {type(loaded)}")
        print(json.dumps(describe(loaded)))
    elif command == "load-module":
        load_module(argument)
    else:
        raise SystemExit(f"unknown command {command}")
