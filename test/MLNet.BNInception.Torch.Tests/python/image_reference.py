"""Debian's OpenCV for Python (cv2), the reference for ImageCodec.

usage:
  image_reference.py write DIR          write test images into DIR and print, as JSON, what
                                        cv2.imdecode(..., IMREAD_COLOR) gives for each file
  image_reference.py resize CASES.json  print cv2.resize of each case's region (see resize below)
  image_reference.py decode FILE        print cv2.imdecode(..., IMREAD_UNCHANGED) of FILE

An image is described as {"width", "height", "channels", "pixels": base64 of the HWC bytes},
or null where cv2 decodes nothing.
"""
import base64
import json
import struct
import sys

import cv2
import numpy as np

INTERPOLATION = {"Area": cv2.INTER_AREA, "Linear": cv2.INTER_LINEAR, "Nearest": cv2.INTER_NEAREST, "Cubic": cv2.INTER_CUBIC}


def describe(image):
    if image is None:
        return None
    channels = 1 if image.ndim == 2 else image.shape[2]
    return {
        "width": image.shape[1],
        "height": image.shape[0],
        "channels": channels,
        "pixels": base64.b64encode(np.ascontiguousarray(image).tobytes()).decode("ascii"),
    }


def decode(data, flags=cv2.IMREAD_COLOR):
    if len(data) == 0:
        return None  # cv2.imdecode refuses an empty buffer with an assertion
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def encode(extension, image, params=()):
    ok, data = cv2.imencode(extension, image, list(params))
    assert ok, extension
    return data.tobytes()


def scene(rng, height, width, channels, dtype=np.uint8):
    """Gradients plus noise: smooth enough for JPEG, busy enough that every resize mode differs."""
    top = np.iinfo(dtype).max
    y, x = np.mgrid[0:height, 0:width]
    planes = [(x * (c + 1) * 7 + y * (3 - c) * 5) % (top + 1) for c in range(channels)]
    image = np.stack(planes, axis=2).astype(np.float64)
    image += rng.normal(0, top / 20, image.shape)
    return np.clip(image, 0, top).astype(dtype)


def exif_orientation_segment(orientation):
    """An APP1 segment holding a little-endian TIFF with one IFD entry: Orientation (0x0112, SHORT)."""
    entry = struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def write(folder):
    rng = np.random.default_rng(2024)
    color = scene(rng, 37, 53, 3)
    files = {
        "bgr.png": encode(".png", color),
        "gray.png": encode(".png", scene(rng, 37, 53, 1)[:, :, 0]),
        "bgra.png": encode(".png", scene(rng, 31, 19, 4)),
        "bgr16.png": encode(".png", scene(rng, 23, 27, 3, np.uint16)),
        "photo.jpg": encode(".jpg", scene(rng, 48, 64, 3), (cv2.IMWRITE_JPEG_QUALITY, 90)),
        "bgr.bmp": encode(".bmp", color),
        "text.txt": b"this is not an image\n",
        "empty.bin": b"",
    }
    jpeg = encode(".jpg", scene(rng, 32, 48, 3), (cv2.IMWRITE_JPEG_QUALITY, 95))
    files["plain.jpg"] = jpeg
    files["exif6.jpg"] = jpeg[:2] + exif_orientation_segment(6) + jpeg[2:]
    files["padded.jpg"] = jpeg + b"\x00" * 16
    files["half.png"] = files["bgr.png"][: len(files["bgr.png"]) // 2]
    files["half.jpg"] = files["photo.jpg"][: len(files["photo.jpg"]) // 2]

    expected = {}
    for name, data in files.items():
        with open(f"{folder}/{name}", "wb") as handle:
            handle.write(data)
        expected[name] = describe(decode(data))
    # Orientation 6 means "rotate 90 degrees clockwise to display": the same pixels as the plain file, turned.
    expected["plain.jpg rotated clockwise"] = describe(cv2.rotate(decode(jpeg), cv2.ROTATE_90_CLOCKWISE))
    print(json.dumps(expected))


def resize(cases_path):
    """Each case: {"file", "x", "y", "width", "height", "targetWidth", "targetHeight", "filter"}.
    The file is read unchanged (a gray PNG stays one channel), so it matches what the C# side resizes."""
    with open(cases_path) as handle:
        cases = json.load(handle)
    results = []
    for case in cases:
        image = cv2.imread(case["file"], cv2.IMREAD_UNCHANGED)
        region = image[case["y"]:case["y"] + case["height"], case["x"]:case["x"] + case["width"]]
        size = (case["targetWidth"], case["targetHeight"])
        results.append(describe(cv2.resize(region, size, interpolation=INTERPOLATION[case["filter"]])))
    print(json.dumps(results))


def main():
    command, argument = sys.argv[1], sys.argv[2]
    if command == "write":
        write(argument)
    elif command == "resize":
        resize(argument)
    elif command == "decode":
        with open(argument, "rb") as handle:
            print(json.dumps(describe(decode(handle.read(), cv2.IMREAD_UNCHANGED))))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
