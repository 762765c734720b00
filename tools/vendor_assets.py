"""Copy the dashboard's and the API docs' third-party assets from npm into the package.

One list of files (:data:`ASSETS`) serves both ``make assets``
(``python3 tools/vendor_assets.py``) and the wheel build (``setup.py``'s ``build_py`` runs
:func:`ensure` first), so a wheel built from a fresh clone carries Leaflet, topojson-client, the
Natural Earth coastlines and Swagger UI, plus their licence texts. ``npm ci`` installs the exact
versions of ``package-lock.json`` (never a CDN at run time); it runs only when a listed file
is missing from ``node_modules``. Standard library only.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

STATIC_VENDOR = Path("src/deconflict/web/static/vendor")
DOCS_ASSETS = Path("src/deconflict/web/docs_assets")

#: (npm package, file inside the package, destination directory relative to the repository)
ASSETS: tuple[tuple[str, str, Path], ...] = (
    ("leaflet", "dist/leaflet.js", STATIC_VENDOR),
    ("leaflet", "dist/leaflet.css", STATIC_VENDOR),
    ("topojson-client", "dist/topojson-client.min.js", STATIC_VENDOR),
    ("h3-js", "dist/h3-js.umd.js", STATIC_VENDOR),
    ("world-atlas", "countries-50m.json", STATIC_VENDOR),
    ("world-atlas", "countries-110m.json", STATIC_VENDOR),
    ("swagger-ui-dist", "swagger-ui-bundle.js", DOCS_ASSETS),
    ("swagger-ui-dist", "swagger-ui.css", DOCS_ASSETS),
    ("swagger-ui-dist", "favicon-32x32.png", DOCS_ASSETS),
)
#: Licence file of each package, copied to ``<destination>/LICENSES/<package>.txt``.
LICENSES: dict[str, str] = {
    "leaflet": "LICENSE",
    "topojson-client": "LICENSE",
    "h3-js": "LICENSE",
    "world-atlas": "LICENSE",
    "swagger-ui-dist": "LICENSE",
}


def targets(root: Path) -> list[Path]:
    """Every file the package must carry (assets and licences), absolute."""
    out = [root / dest / Path(rel).name for _pkg, rel, dest in ASSETS]
    for pkg in LICENSES:
        for dest in sorted({d for p, _r, d in ASSETS if p == pkg}):
            out.append(root / dest / "LICENSES" / f"{pkg}.txt")
    return out


def missing(root: Path) -> list[Path]:
    """The files of :func:`targets` not present yet."""
    return [p for p in targets(root) if not p.is_file()]


def _sources_present(root: Path) -> bool:
    modules = root / "node_modules"
    files = [modules / pkg / rel for pkg, rel, _d in ASSETS]
    files += [modules / pkg / lic for pkg, lic in LICENSES.items()]
    return all(f.is_file() for f in files)


def npm_ci(root: Path) -> None:
    """``npm ci`` in ``root`` (exact versions from package-lock.json); a clear error without npm."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "deconflict: the dashboard's map and API-docs assets are missing and `npm` is not on "
            "PATH; install Node.js (npm) or run `make assets` on a machine that has it"
        )
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=root, check=True)


def vendor(root: Path) -> list[Path]:
    """Install from npm if needed and copy every asset and licence; return the files written."""
    if not _sources_present(root):
        npm_ci(root)
    written = []
    modules = root / "node_modules"
    for pkg, rel, dest in ASSETS:
        (root / dest).mkdir(parents=True, exist_ok=True)
        target = root / dest / Path(rel).name
        shutil.copyfile(modules / pkg / rel, target)
        written.append(target)
    for pkg, lic in LICENSES.items():
        for dest in sorted({d for p, _r, d in ASSETS if p == pkg}):
            (root / dest / "LICENSES").mkdir(parents=True, exist_ok=True)
            target = root / dest / "LICENSES" / f"{pkg}.txt"
            shutil.copyfile(modules / pkg / lic, target)
            written.append(target)
    return written


def ensure(root: Path) -> None:
    """Vendor the assets when any is missing (the wheel build's hook); no-op otherwise."""
    if missing(root):
        vendor(root)
    still = missing(root)
    if still:
        raise SystemExit(f"deconflict: assets still missing after npm: {[str(p) for p in still]}")


def main(argv: list[str] | None = None) -> int:
    """``python3 tools/vendor_assets.py [--check]``: vendor (always re-copy) or only check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--check", action="store_true", help="only report missing files")
    args = parser.parse_args(argv)
    if args.check:
        gone = missing(args.root)
        for p in gone:
            sys.stderr.write(f"missing: {p}\n")
        return 1 if gone else 0
    for p in vendor(args.root):
        sys.stdout.write(f"{p.relative_to(args.root)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
