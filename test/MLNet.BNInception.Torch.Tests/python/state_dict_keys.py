"""Prints the state-dict keys PyTorch gives the small network ModuleTests builds, one per line."""
import torch

net = torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3, bias=False),
    torch.nn.BatchNorm2d(4),
    torch.nn.ReLU(),
    torch.nn.Flatten(),
    torch.nn.Linear(4 * 6 * 6, 3),
)
for key in net.state_dict():
    print(key)
