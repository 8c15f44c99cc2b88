#!/usr/bin/env python3
"""Fails (exit 1) if a committed notebook carries outputs, execution counts or run timestamps (the
`execution` cell metadata that Jupyter and nbclient record); `--fix` strips them.

Notebooks are committed without outputs: outputs are large, change on every run and belong to whoever ran
it; CI runs every notebook from a clean kernel instead (.ci/run). Standard library only.

    python3 notebooks/check_stripped.py          # check every committed *.ipynb (git ls-files)
    python3 notebooks/check_stripped.py --fix    # strip them in place
    python3 notebooks/check_stripped.py a.ipynb  # check (or --fix) these files
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def committed_notebooks() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "--", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True)
        return [ROOT / line for line in listed.stdout.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        return sorted(p for p in (ROOT / "notebooks").glob("*.ipynb"))


def problems(nb: dict) -> list[str]:
    found = []
    for k, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {k}: {len(cell['outputs'])} outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {k}: execution count {cell['execution_count']}")
        if "execution" in cell.get("metadata", {}):
            found.append(f"cell {k}: run timestamps")
    return found


def strip(nb: dict) -> None:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            cell.get("metadata", {}).pop("execution", None)


def main(argv: list[str]) -> int:
    fix = "--fix" in argv
    paths = [Path(a).resolve() for a in argv if a != "--fix"] or committed_notebooks()
    failed = 0
    for path in paths:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            print(f"{path}: cannot read it as a notebook: {e}", file=sys.stderr)
            failed += 1
            continue
        found = problems(nb)
        if not found:
            continue
        if fix:
            strip(nb)
            # The layout nbformat writes (one-space indent, non-ASCII kept), so a fix changes only outputs.
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"{path}: stripped ({'; '.join(found)})")
        else:
            failed += 1
            print(f"{path}: committed with outputs: {'; '.join(found)}", file=sys.stderr)
    if failed:
        print(f"{failed} notebook(s) not stripped: run `python3 notebooks/check_stripped.py --fix` and commit again",
              file=sys.stderr)
        return 1
    print(f"{len(paths)} notebook(s) checked: no outputs, no execution counts, no run timestamps")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
