"""What runs inside the notebook's kernel when values are captured: the same text for every source.

This file is sent as source text to a kernel (after the runtime's `encode.py`, which gives it
`dumps`), or executed in-process for a namespace (`%deploy`): one code path for both. It uses
the standard library only, answers JSON-able values, and never leaves a name behind in the
user's namespace.
"""

import base64
import copy
import json
import pickle
from typing import Any

dumps: Any = globals().get("dumps")  # the runtime's JSON encoder, executed into this scope first


def capture(namespace: Any, names: Any) -> Any:
    """{name: {"data", "type", "pickler"} or {"error"[, "type"]}} for each name."""
    out: dict[str, Any] = {}
    for name in names:
        if name not in namespace:
            out[name] = {"error": "it has no value in the kernel (run the cell that computes it)"}
            continue
        value = namespace[name]
        kind = type(value).__module__ + "." + type(value).__qualname__
        try:
            data, pickler = pickle.dumps(value, protocol=5), "pickle"
        except Exception as first:
            try:
                import cloudpickle

                data, pickler = cloudpickle.dumps(value, protocol=5), "cloudpickle"
            except Exception:
                out[name] = {"error": type(first).__name__ + ": " + str(first), "type": kind}
                continue
        out[name] = {
            "data": base64.b64encode(data).decode(),
            "type": kind,
            "pickler": pickler,
            "size": len(data),
        }
    return out


def _answer(function: Any, argument: Any) -> Any:
    """{"answer": JSON} or {"error": "Type: message"} for function(argument), on a copy."""
    try:
        result = function(copy.deepcopy(argument))
        return {"answer": json.loads(dumps(result).decode())}
    except Exception as error:
        return {"error": type(error).__name__ + ": " + str(error)[:300]}


def golden(namespace: Any, inputs: Any, batch: Any = None) -> Any:
    """predict on each input (twice: is it deterministic?) and predict_batch on all of them.

    `batch` is None, or {"shape": "arguments"} / {"shape": "values", "parameter": name}.
    """
    predict = namespace.get("predict")
    if not callable(predict):
        return {"error": "predict is not defined in the kernel (run the predict cell)"}
    cases = []
    for args in inputs:
        first = _answer(lambda a: predict(**a), args)
        case = {"input": args}
        case.update(first)
        if "answer" in first:
            case["deterministic"] = _answer(lambda a: predict(**a), args) == first
        cases.append(case)
    out: dict[str, Any] = {"cases": cases}
    batch_function = namespace.get("predict_batch") if batch else None
    if callable(batch_function) and inputs:
        if batch["shape"] == "values":
            items = [args.get(batch["parameter"]) for args in inputs]
        else:
            items = list(inputs)
        result = _answer(lambda i: list(batch_function(i)), items)
        out["batch"] = result
    return out


def modules(namespace: Any) -> Any:
    """The top-level names of the modules imported so far."""
    import sys

    return sorted({name.split(".")[0] for name in list(sys.modules)})


def value(namespace: Any, name: Any) -> Any:
    """{"value": JSON} of one name (e.g. a computed `example`), or {"error": why}."""
    if name not in namespace:
        return {"error": name + " has no value in the kernel"}
    try:
        return {"value": json.loads(dumps(namespace[name]).decode())}
    except Exception as error:
        return {"error": type(error).__name__ + ": " + str(error)[:200]}
