"""``make wheel-check``: the wheel built from a fresh clone serves the map and the API docs.

Steps (each bounded in time):

1. ``git clone`` this repository into a temporary directory, then overlay the working tree's
   uncommitted files (tracked and untracked, never gitignored ones), so the check sees exactly what
   the next commit would contain; on a clean checkout (CI) that is just a fresh clone. The clone
   has no ``node_modules`` and none of the gitignored assets.
2. ``pip wheel --no-deps`` of the clone (build isolation on, as a user gets it): ``setup.py``'s
   build hook runs ``npm ci`` and copies the assets; the wheel is checked to contain them.
3. Install the wheel (``--no-deps``, ``--no-index``) into a new virtualenv whose third-party
   dependencies are borrowed read-only from the running interpreter's site-packages through a
   ``.pth`` line (offline and fast; the project's own editable install is not visible there, and the
   check asserts that ``deconflict`` is imported from the new venv).
4. Run that venv's ``deconflict db upgrade`` and ``deconflict serve`` on a free loopback port
   from an empty directory (``serve`` is what ``deconflict demo`` runs; it has no start-up
   deadline of its own; its kernels run as plain Python here, ``NUMBA_DISABLE_JIT=1``, as a
   fresh venv would otherwise compile them cold) and check that ``/``,
   ``/static/vendor/leaflet.js``, the basemap TopoJSON, ``/docs`` (Swagger UI, not the fallback
   list), its ``/docs-assets`` files and ``/i18n/ru.json`` answer 200 with the right content.

Exit status 0 when everything holds; a message naming the failed step otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Files the wheel must carry (paths inside the wheel).
WHEEL_FILES = (
    "deconflict/web/static/index.html",
    "deconflict/web/static/vendor/leaflet.js",
    "deconflict/web/static/vendor/leaflet.css",
    "deconflict/web/static/vendor/topojson-client.min.js",
    "deconflict/web/static/vendor/h3-js.umd.js",
    "deconflict/web/static/vendor/LICENSES/h3-js.txt",
    "deconflict/web/static/vendor/countries-110m.json",
    "deconflict/web/static/vendor/countries-50m.json",
    "deconflict/web/static/vendor/LICENSES/leaflet.txt",
    "deconflict/web/docs_assets/swagger-ui-bundle.js",
    "deconflict/web/docs_assets/swagger-ui.css",
    "deconflict/web/docs_assets/LICENSES/swagger-ui-dist.txt",
    "deconflict/web/static/i18n/locale/ru/LC_MESSAGES/ui.po",
)
#: URL path -> a byte string the body must contain.
URLS = {
    "/": b"static/vendor/leaflet.js",
    "/static/vendor/leaflet.js": b"Leaflet",
    "/static/vendor/leaflet.css": b".leaflet-",
    "/static/vendor/topojson-client.min.js": b"topojson",
    "/static/vendor/countries-110m.json": b'"Topology"',
    "/static/vendor/countries-50m.json": b'"Topology"',
    "/docs": b"/docs-assets/swagger-ui-bundle.js",
    "/docs-assets/swagger-ui-bundle.js": b"SwaggerUIBundle",
    "/docs-assets/swagger-ui.css": b".swagger-ui",
    "/i18n/ru.json": "Оповещения".encode(),
}


class CheckFailed(Exception):
    """A step of the check failed (the message says which and why)."""


def _run(cmd: list[str], *, cwd: Path | None = None, timeout: float, what: str) -> str:
    started = time.monotonic()
    try:
        done = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"{what}: timed out after {timeout:.0f} s") from None
    if done.returncode != 0:
        raise CheckFailed(
            f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    _say(f"{what}: ok ({time.monotonic() - started:.1f} s)")
    return done.stdout


def _say(text: str) -> None:
    sys.stdout.write(f"wheel-check: {text}\n")
    sys.stdout.flush()


def clone(dest: Path) -> None:
    """A fresh clone of :data:`REPO` plus the working tree's uncommitted, non-ignored files."""
    _run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(dest)],
        timeout=60,
        what="git clone",
    )
    listed = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        timeout=30,
        what="list working tree",
    )
    copied = 0
    for rel in filter(None, listed.split("\0")):
        src = REPO / rel
        target = dest / rel
        if not src.is_file():  # deleted in the working tree
            if target.exists():
                target.unlink()
            continue
        if target.is_file() and target.read_bytes() == src.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        copied += 1
    _say(f"overlaid {copied} uncommitted file(s)")
    for gone in (
        "node_modules",
        "src/deconflict/web/static/vendor",
        "src/deconflict/web/docs_assets",
    ):
        if (dest / gone).exists():
            raise CheckFailed(f"the fresh clone already has {gone}: it must come from the build")


def build_wheel(src: Path, out: Path) -> Path:
    """``pip wheel`` of ``src``; returns the wheel, checked to contain :data:`WHEEL_FILES`."""
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        timeout=240,
        what="pip wheel (build hook runs npm ci)",
    )
    wheels = sorted(out.glob("deconflict-*.whl"))
    if len(wheels) != 1:
        raise CheckFailed(f"expected one wheel in {out}, found {[w.name for w in wheels]}")
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    absent = [f for f in WHEEL_FILES if f not in names]
    if absent:
        raise CheckFailed(f"the wheel lacks {absent}")
    _say(f"{wheels[0].name} carries the {len(WHEEL_FILES)} asset files")
    return wheels[0]


def make_venv(wheel: Path, venv: Path) -> Path:
    """A venv with only ``wheel`` installed; third-party deps borrowed via a ``.pth`` line."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=60, what="venv")
    py = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        timeout=120,
        what="pip install wheel",
    )
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    )
    (site / "zz_borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [str(py), "-c", "import deconflict; print(deconflict.__file__)"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=venv,
        check=False,
    )
    if where.returncode != 0 or not where.stdout.strip().startswith(str(venv)):
        raise CheckFailed(
            f"deconflict not imported from the wheel's venv: {where.stdout}{where.stderr}"
        )
    return venv / "bin" / "deconflict"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def serve_and_fetch(exe: Path, work: Path, wait_s: float) -> None:
    """``deconflict serve`` from ``exe`` on a free port; every :data:`URLS` answers 200."""
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "serve.log"
    db = f"sqlite:///{work / 'deconflict.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECONFLICT_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["DECONFLICT_DATA_DIR"] = str(work)
    # This check is about packaging (assets, entry points), not the kernels: run them as plain
    # Python, so that serve's start-up warm-up takes seconds instead of a cold compile of every
    # kernel in the fresh venv (~70 s on two cores; the suite tests the compiled kernels).
    env["NUMBA_DISABLE_JIT"] = "1"
    _run(
        [str(exe), "db", "upgrade", "--db", db], cwd=work, timeout=120, what="deconflict db upgrade"
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(exe), "serve", "--db", db, "--port", str(port), "--log-level", "warning"],
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if proc.poll() is not None:
                raise CheckFailed(
                    f"deconflict serve exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
                )
            try:
                if _get(base + "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise CheckFailed(
                    f"deconflict serve not healthy in {wait_s:.0f} s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(0.3)
        for path, needle in URLS.items():
            status, body = _get(base + path)
            if status != 200 or needle not in body:
                raise CheckFailed(
                    f"GET {path}: {status}, {len(body)} bytes, {needle!r} present: {needle in body}"
                )
        _say(f"deconflict serve from the wheel answered {len(URLS)} asset URLs with 200")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


def main(argv: list[str] | None = None) -> int:
    """Run the whole check; 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--wait", type=float, default=180.0, help="seconds to wait for the server")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="deconflict-wheel-check."))
    try:
        clone(tmp / "src")
        wheel = build_wheel(tmp / "src", tmp / "dist")
        exe = make_venv(wheel, tmp / "venv")
        serve_and_fetch(exe, tmp / "run", args.wait)
    except CheckFailed as exc:
        _say(f"FAILED: {exc}")
        return 1
    finally:
        if args.keep:
            _say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    _say(f"passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
