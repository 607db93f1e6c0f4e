"""Cold start: what ``import nnbook`` and the first kernel call cost in a fresh process.

Each figure is the median (and best) over fresh Python processes, timed inside the process from
just before ``import nnbook``: the import alone (targets < 0.15 s: nothing heavy is loaded until
used), and the import plus the first call of a kernel with a warm Numba cache (target < 0.3 s in
total, NumPy's and Numba's own start-up included). A first process warms the cache. Prints;
asserts nothing.

Two floors put the targets in proportion: ``import numba`` alone, and the first call of a
one-line ``@njit(cache=True)`` function (warm cache) in a fresh process, which no package built
on Numba can beat. Numba's first call loads its typing and lowering registries, which import
``scipy.linalg`` (Numba's BLAS check) and ``cffi`` (its C-parser tables): that is where the time
goes, for nnbook's kernels as for the one-liner.
"""
from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = dict(os.environ)
ENV.setdefault("NUMBA_CACHE_DIR", str(ROOT / "_build" / "numba-cache"))

CASES = {
    "import nnbook": "import nnbook",
    "+ conv2d (first kernel call)": (
        "import nnbook, numpy as np\n"
        "nnbook.conv2d(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), np.zeros(4), padding=1)"),
    "+ rnn_bptt (first kernel call)": (
        "import nnbook, numpy as np\n"
        "p = nnbook.rnn_params(Dx=2, Dh=4, Dy=1, seed=0)\n"
        "nnbook.rnn_bptt(p, np.ones((5, 2)), np.ones((5, 1)))"),
    "+ MLP forward (no kernel)": (
        "import nnbook, numpy as np\n"
        "nnbook.MLP.random([2, 3, 1], ['tanh', 'identity'])(np.ones(2))"),
}
FLOOR_MODULE = ("from numba import njit\n\n\n@njit(cache=True)\ndef one_liner(x):\n"
                "    return x.sum()\n")
FLOORS = {
    "floor: import numba": "import numba",
    "floor: numba one-liner (first call)": (
        "import numpy as np, floor_kernel\nfloor_kernel.one_liner(np.ones(3))"),
}
TIMED = "import time\nt0 = time.perf_counter()\n{code}\nprint(time.perf_counter() - t0)"


def measure(code: str, runs: int, cwd: pathlib.Path = ROOT) -> tuple[float, float]:
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, capture_output=True, cwd=cwd)
    times = [float(subprocess.run([sys.executable, "-c", TIMED.format(code=code)], env=ENV,
                                  check=True, capture_output=True, text=True, cwd=cwd).stdout)
             for _ in range(runs)]
    return statistics.median(times), min(times)


def main() -> None:
    runs = 3 if "--quick" in sys.argv else 9
    print(f"fresh processes, warm Numba cache; median (best) of {runs}, load average "
          f"{os.getloadavg()[0]:.1f}")
    for name, code in CASES.items():
        med, best = measure(code, runs)
        print(f"  {name:36} {med:6.3f} s ({best:6.3f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "floor_kernel.py").write_text(FLOOR_MODULE)
        for name, code in FLOORS.items():
            med, best = measure(code, runs, cwd=pathlib.Path(tmp))
            print(f"  {name:36} {med:6.3f} s ({best:6.3f} s)")


if __name__ == "__main__":
    main()
