"""Edits the ONNX network of a saved model, as a careless or hostile sender of a model file might.

swap_network.py other-class-count IN OUT   a network of another kind, with one class more than IN
                                            (same input, output name, producer and metadata)
swap_network.py relabel IN OUT JSON        IN with its 'class_labels' metadata set to JSON
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def other_class_count(source, target):
    original = onnx.load(source)
    classes = len(json.loads(metadata(original)["class_labels"])) + 1
    image = original.graph.input[0]
    per_image = int(np.prod([d.dim_value for d in image.type.tensor_type.shape.dim[1:]]))
    output = original.graph.output[0].name
    weights = numpy_helper.from_array(np.random.RandomState(0).randn(per_image, classes).astype(np.float32) * 0.01, "weights")
    nodes = [
        helper.make_node("Flatten", [image.name], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [output], axis=1),
    ]
    graph = helper.make_graph(nodes, "not-bn-inception", [image],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, [classes])], [weights])
    model = helper.make_model(graph, producer_name=original.producer_name, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = original.ir_version
    for key, value in metadata(original).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, target)


def relabel(source, target, labels):
    model = onnx.load(source)
    for entry in model.metadata_props:
        if entry.key == "class_labels":
            entry.value = labels
    onnx.save(model, target)


def metadata(model):
    return {entry.key: entry.value for entry in model.metadata_props}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "other-class-count":
        other_class_count(sys.argv[2], sys.argv[3])
    elif command == "relabel":
        relabel(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(f"unknown command {command}")
