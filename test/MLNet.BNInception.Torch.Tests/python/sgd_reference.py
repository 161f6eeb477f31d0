"""Runs torch.optim.SGD on parameters and gradients written by the C# test, as raw float32 files.

usage: sgd_reference.py DIR CONFIG_JSON
DIR holds p{i}.bin (initial parameter i) and g{t}_{i}.bin (gradient of parameter i at step t);
shapes and settings come in CONFIG_JSON. Writes out{i}.bin, the parameters after every step.
"""
import json
import os
import sys

import numpy as np
import torch

directory, config = sys.argv[1], json.loads(sys.argv[2])
shapes = config["shapes"]


def read(name, shape):
    data = np.fromfile(os.path.join(directory, name), dtype="<f4")
    return torch.from_numpy(data.reshape(shape).copy())


params = [torch.nn.Parameter(read(f"p{i}.bin", s)) for i, s in enumerate(shapes)]
groups = [{"params": [params[i] for i in g["indices"]], **g["settings"]} for g in config["groups"]]
optimizer = torch.optim.SGD(groups, **config["defaults"])
for step in range(config["steps"]):
    for i, (param, shape) in enumerate(zip(params, shapes)):
        param.grad = read(f"g{step}_{i}.bin", shape)
    optimizer.step()
for i, param in enumerate(params):
    param.detach().numpy().astype("<f4").tofile(os.path.join(directory, f"out{i}.bin"))
