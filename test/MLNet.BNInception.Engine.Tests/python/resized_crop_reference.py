"""PyTorch's side of the batched crop test (AugmentationTests.cs): each box resized on its own.

usage:
  resized_crop_reference.py IN OUT SIZE

IN holds "images" (N x C x H x W float32), "boxes" (N x 4 int64: top, left, height, width) and
"flips" (N bool). Each box is cut out, resized to SIZE x SIZE with antialiased bilinear
interpolation (align_corners=False), mirrored where its flip is set, and the N results are saved
in OUT as "resized".
"""
import sys

import torch
import torch.nn.functional as F


def main(source, target, size):
    batch = torch.load(source)
    resized = []
    for image, (top, left, height, width), flip in zip(batch["images"], batch["boxes"].tolist(), batch["flips"].tolist()):
        crop = image[None, :, top:top + height, left:left + width]
        out = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        resized.append(out.flip(3) if flip else out)
    torch.save({"resized": torch.cat(resized)}, target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
