"""Runs ONNX's own checker (Debian's python3-onnx) on an exported file, with full shape inference,
and prints what the file declares as JSON: opset, IR version, inputs, outputs, metadata, op types."""
import json
import sys

import onnx

model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)


def dims(value):
    return [d.dim_param if d.dim_param else d.dim_value for d in value.type.tensor_type.shape.dim]


inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
print(json.dumps({
    "opset": model.opset_import[0].version,
    "ir_version": model.ir_version,
    "inputs": {i.name: dims(i) for i in model.graph.input},
    "outputs": {o.name: dims(o) for o in inferred.graph.output},
    "metadata": {p.key: p.value for p in model.metadata_props},
    "ops": sorted({n.op_type for n in model.graph.node}),
}))
