"""What the notebooks share: where the switchyard binary, the shared data and the outputs are, a way
to run the binary that stops the notebook with switchyard's own message when a command fails (or
returns the exit code when it is an answer, as `compare`'s verdict is), and one way to show a figure
(drawn with matplotlib's Agg renderer, saved as PNG, shown from the file).

Environment:
  SWITCHYARD_BIN          the switchyard binary (default: target/release/switchyard of this checkout)
  SWITCHYARD_SHARED_DATA  the shared data folder with traces/ (default: ../shared/data beside the
                          checkout); when it is absent the notebooks use the project's own fixtures
"""

import os
import shlex
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def repo_root() -> Path:
    """The checkout: the first folder at or above the working directory with Cargo.toml."""
    here = Path.cwd().resolve()
    for folder in [here, *here.parents]:
        if (folder / "Cargo.toml").exists() and (folder / "notebooks").is_dir():
            return folder
    raise FileNotFoundError(f"no switchyard checkout (Cargo.toml beside notebooks/) at or above {here}")


ROOT = repo_root()


def binary() -> Path:
    """The release binary, or a clear error saying how to get one."""
    configured = os.environ.get("SWITCHYARD_BIN")
    path = Path(configured) if configured else ROOT / "target" / "release" / "switchyard"
    if not path.is_absolute():
        path = (ROOT / "notebooks" / path).resolve()
    if not (path.is_file() and os.access(path, os.X_OK)):
        where = "SWITCHYARD_BIN" if configured else "the default path"
        raise FileNotFoundError(
            f"switchyard binary not found at {path} ({where}): build it with `cargo build --release` "
            "in the checkout, or set SWITCHYARD_BIN to a switchyard binary"
        )
    return path


BIN = binary()


def switchyard(*args, echo: bool | str = True) -> str:
    """Run `switchyard ARGS` (paths may be Path objects); print the command and what it printed;
    return its standard output. A failure raises with switchyard's own message."""
    return run(*args, echo=echo).stdout


def run(*args, echo: bool | str = True, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    """`switchyard` for commands whose exit code is an answer (`compare`: 0 pass, 1 fail, 3
    marginal or inconclusive): any code in OK is returned with the output (`.returncode`,
    `.stdout`), any other raises. ECHO: True prints the command and its output (and a non-zero
    exit code), "command" the command only, False nothing."""
    argv = [str(BIN), "--quiet", *map(str, args)]
    shown = " ".join(shlex.quote(relative(a) if isinstance(a, Path) else str(a)) for a in ["switchyard", *args])
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode not in ok:
        raise RuntimeError(f"`{shown}` exited with {done.returncode}:\n{done.stderr}{done.stdout}")
    if echo:
        print(f"$ {shown}")
    if echo is True:
        print(shorten(done.stdout + done.stderr).rstrip())
        if done.returncode != 0:
            print(f"(exit code {done.returncode})")
    return done


def version() -> str:
    return subprocess.run([str(BIN), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def shared_data() -> Path | None:
    """The shared data folder (holding traces/), or None when it is absent."""
    configured = os.environ.get("SWITCHYARD_SHARED_DATA")
    path = Path(configured) if configured else ROOT.parent / "shared" / "data"
    return path.resolve() if (path / "traces").is_dir() else None


def output_dir(name: str) -> Path:
    """notebooks/out/NAME/, made afresh by each run's commands (git ignores notebooks/out/)."""
    path = ROOT / "notebooks" / "out" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def show(fig, path: Path) -> None:
    """Save FIG as a PNG at PATH, close it, and show the file in the notebook."""
    from IPython.display import Image, display

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    display(Image(filename=str(path)))


def shorten(text: str) -> str:
    """TEXT with the checkout's and the shared folder's absolute paths written as in `relative`."""
    for base, label in [(ROOT, ""), (ROOT.parent / "shared", "../shared/")]:
        for form in {str(base), str(base.resolve())}:
            text = text.replace(form + "/", label)
    return text


def relative(path: Path) -> str:
    """PATH as the notebooks print it: relative to the checkout, or to the shared folder."""
    path = Path(path).resolve()
    for base, label in [(ROOT, ""), (ROOT.parent / "shared", "../shared/")]:
        try:
            return label + str(path.relative_to(base.resolve()))
        except ValueError:
            pass
    return str(path)
