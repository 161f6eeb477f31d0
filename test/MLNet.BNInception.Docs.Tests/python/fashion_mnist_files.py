"""Writes the first images of Debian's Fashion-MNIST as PNG files listed in CSV files, the data the
samples of docs/samples/ read, with Python's standard library only: the test process that runs
this loads no ML.NET, TorchSharp or image library of ours (see SamplesTests).

usage: fashion_mnist_files.py FOLDER TRAIN_COUNT TEST_COUNT

Writes FOLDER/images/train/<n>.png (the first TRAIN_COUNT images of the training split) and
FOLDER/images/t10k/<n>.png (the first TEST_COUNT of the test split), 28x28 8-bit grayscale, and
FOLDER/train.csv and FOLDER/test.csv: a header ImagePath,Label, then a path relative to
FOLDER/images and the class name per image, the layout src/MLNet.BNInception.DemoData writes.
"""

import gzip
import os
import struct
import sys
import zlib

SOURCE = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SIDE = 28


def read_idx(path, magic, count):
    with gzip.open(path, "rb") as file:
        data = file.read()
    found = struct.unpack(">i", data[:4])[0]
    if found != magic:
        raise SystemExit(f"{path}: magic 0x{found:x}, expected 0x{magic:x}")
    rank = magic & 0xFF
    dims = struct.unpack(">" + "i" * rank, data[4:4 + 4 * rank])
    if dims[0] < count:
        raise SystemExit(f"{path} holds {dims[0]} items; {count} were asked for")
    item = 1
    for dim in dims[1:]:
        item *= dim
    start = 4 + 4 * rank
    return data[start:start + count * item]


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def grayscale_png(pixels):
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 0, 0, 0, 0)  # 8-bit grayscale, no interlace
    # Each scanline starts with its filter type, 0: the bytes as they are.
    scanlines = b"".join(b"\x00" + pixels[row * SIDE:(row + 1) * SIDE] for row in range(SIDE))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(scanlines)) + png_chunk(b"IEND", b"")


def write_split(folder, split, count, csv_name):
    pixels = read_idx(os.path.join(SOURCE, f"{split}-images-idx3-ubyte.gz"), 0x803, count)
    labels = read_idx(os.path.join(SOURCE, f"{split}-labels-idx1-ubyte.gz"), 0x801, count)
    os.makedirs(os.path.join(folder, "images", split), exist_ok=True)
    lines = ["ImagePath,Label"]
    for index in range(count):
        relative = f"{split}/{index}.png"
        with open(os.path.join(folder, "images", relative), "wb") as file:
            file.write(grayscale_png(pixels[index * SIDE * SIDE:(index + 1) * SIDE * SIDE]))
        lines.append(f"{relative},{CLASS_NAMES[labels[index]]}")
    with open(os.path.join(folder, csv_name), "w", encoding="utf-8", newline="\n") as file:
        file.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: fashion_mnist_files.py FOLDER TRAIN_COUNT TEST_COUNT")
    folder, train_count, test_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    write_split(folder, "train", train_count, "train.csv")
    write_split(folder, "t10k", test_count, "test.csv")


if __name__ == "__main__":
    main()
