#!/usr/bin/env python3
"""Runs a QDQ ONNX file from `mednet export` with its own small interpreter of the ONNX operators it uses
(NumPy, with PyTorch's float convolution and pooling), independent of mednet's int8 kernels, and compares
with mednet's int8 logits on the same input.

  qdq_reference.py --onnx F --input X.npy --logits Y.npy [--out Z.npy]
Checks the file with onnx.checker (full check, shape inference), then prints one JSON line: the share of
rows whose arg-max agrees, the largest |difference| in units of the output's quantization step, and what
OpenCV's dnn runtime says when it loads the file (Debian 12's OpenCV 4.6 refuses a DequantizeLinear of a
constant weight; that line is reported, not judged).
"""
import argparse
import json

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def per_axis(v, x, axis):
    if v.ndim == 0:
        return v
    shape = [1] * x.ndim
    shape[axis] = v.size
    return v.reshape(shape)


def run(model, x):
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for n in model.graph.node:
        a = attrs(n)
        ins = [env[i] if i else None for i in n.input]
        op = n.op_type
        if op == "QuantizeLinear":
            v, s, z = ins
            info = np.iinfo(z.dtype)
            y = np.clip(np.round(v / per_axis(s, v, a.get("axis", 1))) + per_axis(z, v, a.get("axis", 1)).astype(np.int32),
                        info.min, info.max).astype(z.dtype)
        elif op == "DequantizeLinear":
            v, s, z = ins
            ax = a.get("axis", 1)
            y = ((v.astype(np.int32) - per_axis(z, v, ax).astype(np.int32)) * per_axis(s, v, ax)).astype(np.float32)
        elif op == "Conv":
            v, w, b = (torch.from_numpy(np.array(t, dtype=np.float32)) for t in ins)
            d = w.dim() - 2
            conv = F.conv2d if d == 2 else F.conv3d
            y = conv(v, w, b, stride=a["strides"], padding=a["pads"][:d]).numpy()
        elif op == "Gemm":
            v, w, b = ins
            y = v @ (w.T if a.get("transB", 0) else w) + b
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "MaxPool":
            v = torch.from_numpy(np.array(ins[0]))
            d = v.dim() - 2
            pool = F.max_pool2d if d == 2 else F.max_pool3d
            y = pool(v, a["kernel_shape"], a["strides"], a["pads"][:d]).numpy()
        elif op == "ReduceMean":
            y = ins[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Concat":
            y = np.concatenate(ins, axis=a["axis"])
        elif op == "Resize":
            size = [int(v) for v in ins[3][2:]]
            y = F.interpolate(torch.from_numpy(np.array(ins[0])), size=size, mode="bilinear", align_corners=False).numpy()
        elif op == "BatchNormalization":
            v, sc, sh, mean, var = ins
            y = (v - per_axis(mean, v, 1)) / np.sqrt(per_axis(var, v, 1) + a.get("epsilon", 1e-5)) * per_axis(sc, v, 1) + per_axis(sh, v, 1)
        elif op == "Identity":
            y = ins[0]
        else:
            raise SystemExit(f"qdq_reference: operator {op} is not interpreted")
        env[n.output[0]] = np.asarray(y, dtype=np.float32) if y.dtype.kind == "f" else y
    return env[model.graph.output[0].name]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--onnx", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--logits", required=True)
    p.add_argument("--out")
    a = p.parse_args()
    model = onnx.load(a.onnx)
    onnx.checker.check_model(model, full_check=True)
    ops = sorted({n.op_type for n in model.graph.node})
    x = np.load(a.input).astype(np.float32)
    ref = np.load(a.logits)
    got = run(model, x)
    if a.out:
        np.save(a.out, got)
    last = [n for n in model.graph.node if n.op_type == "DequantizeLinear"][-1]
    step = float(numpy_helper.to_array([t for t in model.graph.initializer if t.name == last.input[1]][0]))
    # Rows whose two best reference logits are more than 16 output steps apart: an error of at most 8 steps
    # per logit (the bound the tests hold max_steps to) cannot swap their class.
    top2 = np.sort(ref, 1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) / step > 16
    result = {
        "agreement": float(np.mean(got.argmax(1) == ref.argmax(1))),
        "clear_rows": int(clear.sum()),
        "clear_agreement": float(np.mean(got.argmax(1)[clear] == ref.argmax(1)[clear])) if clear.any() else 1.0,
        "max_steps": float(np.max(np.abs(got - ref)) / step),
        "rows": int(x.shape[0]),
        "operators": ops,
        "int8_weights": sum(1 for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and t.dims and len(t.dims) > 1),
    }
    try:
        import cv2

        net = cv2.dnn.readNetFromONNX(a.onnx)
        net.setInput(x)
        y = net.forward()
        result["opencv_agreement"] = float(np.mean(y.argmax(1) == ref.argmax(1)))
    except Exception as e:  # noqa: BLE001 - reported, not judged
        lines = [ln.strip(" >") for ln in str(e).splitlines() if ln.strip(" >")]
        result["opencv"] = lines[-1][:240] if lines else type(e).__name__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
