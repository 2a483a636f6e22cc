"""`python -m arrears_dev.image_fs --package case-service OUT`: an image's file system, built
without Docker by following deploy/Dockerfile's build stage itself.

It reads the build stage's ARG, ENV, WORKDIR, COPY and RUN lines and does them under OUT:
COPY copies from the repository (honouring the Dockerfile's .dockerignore), RUN runs the
command (the two `uv sync --package` phases) with the stage's environment and
UV_PROJECT_ENVIRONMENT inside OUT. A `COPY --from=<image>` brings in a tool (uv), which is
taken from this machine instead. Then, as the final stage keeps only the virtual environment,
everything else under the work directory is removed, so what is left runs only if the recipe
installed every package into the environment. A broken recipe fails here, not in a registry.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def build_stage(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the first stage, continuation lines joined."""
    steps: list[tuple[str, str]] = []
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM" and steps:
            break  # the next stage
        steps.append((instruction, rest.strip()))
    return steps


def ignore_patterns(dockerfile: Path) -> list[str]:
    path = dockerfile.with_name(dockerfile.name + ".dockerignore")
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(relative: str, patterns: Sequence[str]) -> bool:
    parts = relative.split("/")
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch("/".join(parts[i:]), pattern[3:]) for i in range(len(parts))):
                return True
        elif fnmatch(relative, pattern) or relative.startswith(pattern.rstrip("/") + "/"):
            return True
    return False


def find_uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    local = REPO / ".tools" / "bin" / "uv"
    if found is None and local.exists():
        found = str(local)
    if found is None:
        raise RuntimeError("uv not found (neither $UV, PATH nor .tools/bin/uv)")
    return found


def build_image_fs(
    out: Path,
    package: str,
    *,
    dockerfile: Path = DOCKERFILE,
    overrides: Mapping[str, str] | None = None,
) -> Path:
    """Build the image's file system for `package` under `out`; return its virtual env."""
    args: dict[str, str] = {"PACKAGE": package}
    env: dict[str, str] = {}
    workdir = out
    patterns = ignore_patterns(dockerfile)
    uv_dir = str(Path(find_uv()).parent)
    for instruction, rest in build_stage(dockerfile):
        if instruction == "ARG":
            name, _, default = rest.partition("=")
            args.setdefault(name, default)
        elif instruction == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
        elif instruction == "WORKDIR":
            workdir = out / rest.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            words = shlex.split(rest)
            if any(word.startswith("--from=") for word in words):
                continue  # a tool from another image (uv): this machine's is used
            *sources, target = [word for word in words if not word.startswith("--")]
            for source in sources:
                _copy(dockerfile.parents[1], source, workdir / target, patterns)
        elif instruction == "RUN":
            command = " ".join(
                word for word in shlex.split(rest) if not word.startswith("--mount=")
            )
            command = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m[1] or m[2]], command)
            process_env = {
                **os.environ,
                **env,
                "UV_PROJECT_ENVIRONMENT": str(workdir / ".venv"),
                "UV_PYTHON": getattr(sys, "_base_executable", sys.executable),
                "PATH": f"{uv_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                **(overrides or {}),
            }
            process_env.pop("VIRTUAL_ENV", None)
            # The command is the repository's own Dockerfile's RUN line, as Docker would run it.
            subprocess.run(  # noqa: S603
                ["/bin/sh", "-c", command], cwd=workdir, env=process_env, check=True
            )
    venv = workdir / ".venv"
    for path in workdir.iterdir():  # the final stage copies only the virtual environment
        if path != venv:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return venv


def _copy(context: Path, source: str, target: Path, patterns: Sequence[str]) -> None:
    origin = context / source
    if origin.is_file():
        destination = target / origin.name if target.is_dir() else target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, destination)
        return

    def skip(directory: str, names: list[str]) -> set[str]:
        base = Path(directory).relative_to(context)
        return {n for n in names if ignored((base / n).as_posix(), patterns)}

    shutil.copytree(origin, target, ignore=skip, dirs_exist_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arrears_dev.image_fs", description=__doc__)
    parser.add_argument("--package", default="case-service")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    venv = build_image_fs(args.out.resolve(), args.package)
    print(venv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
