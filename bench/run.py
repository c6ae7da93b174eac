"""Run every benchmark in bench/ (files named bench_*.py) and record its figures in
docs/benchmarks.md. `python bench/run.py web_shell` runs only the named ones;
`--quick` shortens each run."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import record  # noqa: E402


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        names = [n for n in names if n.removeprefix("bench_") in wanted or n in wanted]
        if not names:
            print(f"error: no benchmark named {' '.join(wanted)}", file=sys.stderr)
            return 2
    failed = []
    for name in names:
        print(f"bench: {name}")
        try:
            section = importlib.import_module(name).run(quick=quick)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"error: {name} failed: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        record(section)
    print("bench: figures written to docs/benchmarks.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
