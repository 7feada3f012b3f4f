"""Compile time of a 2,000-cell notebook with a deep helper chain (target: under 200 ms).

    python benchmarks/compile.py [--cells 2000] [--runs 7]

Half the cells form one chain of helpers, each calling the one before (so `predict` needs
all of them); the other half are exploration cells (prints, loops, plots-to-be) and IPython
syntax that the compiler must read and leave out. Prints the median and best of the runs,
first run (cold caches) separately.
"""

from __future__ import annotations

import argparse
import statistics
import time

import nbformat

from jupyter_deploy.compiler import compile_notebook


def make_notebook(cells: int) -> nbformat.NotebookNode:
    """`cells` code cells: a helper chain interleaved with exploration and magics."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import math\nimport json\nBASE = 1.5"))
    chain = cells // 2
    nb.cells.append(nbformat.v4.new_code_cell("def h0(x):\n    return math.sqrt(abs(x)) + BASE"))
    for i in range(1, chain):
        nb.cells.append(
            nbformat.v4.new_code_cell(
                f'def h{i}(x):\n    """Step {i}."""\n    y = h{i - 1}(x) * 0.5\n'
                f"    return [y + k for k in range(2)][0]"
            )
        )
        explore = (
            f"%time z{i} = h{i}(3)\n!echo {i}"
            if i % 10 == 0
            else f"for k in range(3):\n    print(k, {i}, json.dumps([k]))\nr{i} = h{i}(k)"
        )
        nb.cells.append(nbformat.v4.new_code_cell(explore))
    predict = nbformat.v4.new_code_cell(
        f"def predict(x: float) -> float:\n    return h{chain - 1}(x)"
    )
    predict.metadata["tags"] = ["predict"]
    nb.cells.append(predict)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"c{index}"
    return nb


def main() -> None:
    """Time compile_notebook on the generated notebook."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    nb = make_notebook(args.cells)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        bundle = compile_notebook(nb, name="bench", source_path="bench.ipynb")
        times.append((time.perf_counter() - start) * 1000)
    lines = bundle.module.count("\n")
    print(f"notebook: {len(nb.cells)} cells; module: {lines} lines, {len(bundle.files)} files")
    print(f"first run (cold caches): {times[0]:.0f} ms")
    warm = times[1:] or times
    print(
        f"median of {len(warm)} warm runs: {statistics.median(warm):.0f} ms "
        f"(best {min(warm):.0f} ms); target < 200 ms"
    )


if __name__ == "__main__":
    main()
