#!/usr/bin/env python3
"""Set up mgsurv in a local virtual environment and run it: needs only Python >= 3.11.

    python3 tasks.py run [snakemake options]   # synthetic cohort -> results/synthetic/report.html
    python3 tasks.py test [pytest options]     # the test suite
    python3 tasks.py lint                      # ruff, mypy, snakefmt and snakemake --lint
    python3 tasks.py bench [bench/run.py options]  # the benchmark, beside R when installed

The environment (.venv/) is created on first use and reinstalled whenever a pinned
dependency list changes; a plain ``make`` is not needed, nor conda.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PIN_FILES = {"run": ["requirements.txt"], "test": ["requirements.txt", "requirements-dev.txt"]}


def fail(message: str) -> None:
    print(f"tasks.py: {message}", file=sys.stderr)
    sys.exit(1)


def pins_digest(level: str) -> str:
    digest = hashlib.sha256()
    for name in [*PIN_FILES[level], "constraints.txt", "pyproject.toml"]:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def run(*command: str | Path) -> None:
    result = subprocess.run([str(c) for c in command], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_environment(level: str) -> None:
    """Create .venv and install the pinned dependencies unless already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 (tasks.py may run on an older python3)
        fail(f"Python >= 3.11 is needed, this is {sys.version.split()[0]}")
    stamp = VENV / f".installed-{level}"
    digest = pins_digest(level)
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print("tasks.py: creating the virtual environment .venv/", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (subprocess.CalledProcessError, OSError) as err:
            fail(
                f"could not create .venv ({err}). On Debian/Ubuntu install the venv module:"
                " sudo apt-get install python3-venv"
            )
    requirements = "requirements-dev.txt" if level == "test" else "requirements.txt"
    print(f"tasks.py: installing the pinned dependencies ({requirements})", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    run(*pip, "-r", requirements, "-c", "constraints.txt")
    run(*pip, "--no-deps", "--no-build-isolation", "-e", ".")
    stamp.write_text(digest)


BROWSER_PACKAGES = ("chromium", "chromium-driver")


def ensure_browser() -> None:
    """Install Debian's chromium and chromedriver for the report's browser test, where this
    runs as root with apt; elsewhere say that the test will be skipped."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        print(
            "tasks.py: chromium/chromedriver are missing and this is not root with apt:"
            " the headless browser test will be skipped (apt-get install chromium"
            " chromium-driver to run it)",
            flush=True,
        )
        return
    print(
        "tasks.py: installing Debian's chromium and chromium-driver for the browser test",
        flush=True,
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-qq"]
    subprocess.run([*apt, "update"], env=env, check=False)
    result = subprocess.run([*apt, "install", "-y", *BROWSER_PACKAGES], env=env)
    if result.returncode != 0:
        print("tasks.py: could not install chromium; the browser test will be skipped", flush=True)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("run", "test", "lint", "bench"):
        fail("usage: python3 tasks.py run|test|lint|bench [options passed on]")
    task, extra = argv[0], argv[1:]
    ensure_environment("run" if task in ("run", "bench") else "test")
    if task == "run":
        run(BIN / "snakemake", "--cores", "all", "--rerun-incomplete", *extra)
    elif task == "bench":
        run(BIN / "python", "bench/run.py", *extra)
    elif task == "test":
        ensure_browser()
        run(BIN / "python", "-m", "pytest", *extra)
    else:
        run(BIN / "ruff", "check", ".")
        run(BIN / "ruff", "format", "--check", ".")
        run(BIN / "mypy")
        run(BIN / "snakefmt", "--check", "Snakefile", "workflow")
        run(BIN / "snakemake", "--lint")


if __name__ == "__main__":
    main(sys.argv[1:])
