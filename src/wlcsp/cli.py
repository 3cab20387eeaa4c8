"""The ``wlcsp`` command: a thin shell over the library (exit 0 done, 1 failed, 2 bad input)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from . import progress
from .errors import AnalysisError, DesignError, MeshError

RUNS = Path("runs")
"""Parent of the default output directory: ``--out`` defaults to ``runs/<file stem>``."""


def file_kind(path: str | Path, key: str = "design") -> str:
    """``study`` or ``design``: what a TOML file holds (a study has ``base`` or ``[sweep]``).

    A missing or unreadable file is a DesignError naming ``key``.
    """
    from .design import read_toml

    raw = read_toml(path, key)
    return "study" if "sweep" in raw or "base" in raw else "design"


def _expect(path: str | Path, kind: str) -> None:
    """DesignError in one line unless ``path`` holds a ``kind`` file (design or study)."""
    got = file_kind(path, kind)
    if got != kind:
        hint = "wlcsp sweep" if got == "study" else "wlcsp check, run or compare"
        raise DesignError(kind, str(path), f"this is a {got} file, not a {kind} file: give it "
                          f"to {hint}")


def _out(args: argparse.Namespace, source: str) -> Path:
    """``--out`` or, by default, ``runs/<stem of the design or study file>``."""
    return Path(args.out) if args.out is not None else RUNS / Path(source).stem


SOLDERS = ("elastic", "anand", "garofalo")
"""``--solder`` choices: the values of ``loading.solder``."""


def _design_input(args: argparse.Namespace) -> str | dict:
    """The design file, or its table with the command line's overrides.

    ``--solder`` sets ``loading.solder``, ``--cycles`` ``loading.cycles``; ``--refine F``
    replaces ``[mesh]`` by the design's mesh F times finer (:meth:`MeshSpec.refined`: every
    size divided by F, at least as many elements through each layer); ``--submodel`` adds an
    empty ``[submodel]`` table (the critical joint refined with the defaults of
    :mod:`wlcsp.refined_joint`) unless the design has one.
    """
    solder, cycles = getattr(args, "solder", None), getattr(args, "cycles", None)
    refine, sub = getattr(args, "refine", None), getattr(args, "submodel", False)
    if solder is None and cycles is None and refine is None and not sub:
        return args.design
    from .design import load_design, read_toml

    raw = read_toml(args.design)
    loading = raw.get("loading")
    loading = dict(loading) if isinstance(loading, dict) else {}
    if solder is not None:
        loading["solder"] = solder
    if cycles is not None:
        loading["cycles"] = cycles
    raw["loading"] = loading
    if sub:
        raw.setdefault("submodel", {})
    if refine is not None:
        if not (math.isfinite(refine) and 0.1 <= refine <= 10.0):
            raise DesignError("--refine", refine, "a factor in 0.1-10 (0.5 doubles every "
                                                   "element size, 2 halves it)")
        raw["mesh"] = load_design(raw).mesh.refined(refine)
    return raw


def _check(args: argparse.Namespace) -> int:
    from .design import describe, load_design

    _expect(args.design, "design")
    design = load_design(args.design)
    if "scatter" in design.raw:  # the Monte-Carlo tolerances, read only by --monte-carlo
        from .scatter import parse_scatter

        parse_scatter(design)
    from .refined_joint import parse_submodel

    request = parse_submodel(design)
    print(describe(design))
    if request is not None:
        spec = request.spec
        print(f"submodel    joint {'critical' if request.joint is None else request.joint}, "
              f"refine {spec.refine:g}, rim size "
              f"{'off' if spec.rim_size is None else f'{1e3 * spec.rim_size:g} um'}, half-width "
              f"{'half the pitch' if spec.half_width is None else f'{spec.half_width:g} mm'}")
    return 0


def _mesh(args: argparse.Namespace) -> int:
    from .design import load_design
    from .mesh import build_mesh, min_angle, write_vtu

    _expect(args.design, "design")
    design = load_design(args.design)
    out = Path(args.output)
    if out.suffix != ".msh":
        raise DesignError("-o", str(out), "the mesh file name must end in .msh")
    with progress.phase("mesh"):
        pm = build_mesh(design, out)
    write_vtu(pm, out.with_suffix(".vtu"))
    print(f"{out}: {pm.mesh.nelements} elements (order {pm.order}), {pm.mesh.nvertices} "
          f"vertices, min angle {min_angle(pm):.1f} deg, {pm.seconds:.2f} s")
    if args.plot:
        from .plots import plot_mesh
        from .plots3d import plot_mesh3d

        (plot_mesh3d if pm.dim == 3 else plot_mesh)(pm, out.with_suffix(".png"))
        print(f"{out.with_suffix('.png')}: mesh coloured by material"
              + (", and a cut through the critical joint" if pm.dim == 3 else ""))
    return 0


def _run(args: argparse.Namespace) -> int:
    from .analysis import analyze, format_table
    from .report import write_run_report

    _expect(args.design, "design")
    out = _out(args, args.design)
    design = _design_input(args)
    with progress.phase(f"analysis of {args.design}"):
        result = analyze(design, out, figures=not args.no_figures)
    print(format_table(result))
    report = write_run_report(result, out, design=design)
    print(f"results in {out}/ (summary.json, solution.vtu, figures, {report.name})")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare, format_compare
    from .design import load_design

    _expect(args.design, "design")
    out = _out(args, args.design)
    samples = None
    if args.monte_carlo is not None:
        from .scatter import check_design, monte_carlo, sample_count

        samples = sample_count(args.monte_carlo)  # bad values fail before any solve
    design = load_design(_design_input(args))
    if samples is not None:
        check_design(design)
    result = compare(design, out, figures=not args.no_figures)
    print(format_compare(result))
    scatter = None
    if samples is not None:
        from .scatter import format_scatter

        scatter = monte_carlo(design, samples, out=out / "scatter", figures=not args.no_figures)
        print(format_scatter(scatter))
        print(f"results in {out}/scatter/ (scatter.json, samples.csv, figures)")
    from .report import write_compare_report

    report = write_compare_report(result, out, design=_design_input(args), scatter=scatter)
    print(f"results in {out}/ (compare.csv, compare.png, <variant>/summary.json, {report.name})")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from .study.command import sweep_command

    _expect(args.study, "study")
    return sweep_command(args.study, _out(args, args.study), workers=args.workers,
                         scheduler=args.scheduler)


def _materials(args: argparse.Namespace) -> int:
    from .materials import LIBRARY, format_library

    print(format_library())
    if args.sources:
        for m in LIBRARY.values():
            print(f"\n{m.name}: {m.source}")
    return 0


def _parser() -> argparse.ArgumentParser:
    from .report import package_version

    parser = argparse.ArgumentParser(prog="wlcsp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"wlcsp {package_version()}")
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true",
                       help=f"no progress on stderr (shown on a terminal or with "
                            f"{progress.ENV}=1)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate a design and print its derived geometry")
    p.add_argument("design")
    p.set_defaults(func=_check)
    p = sub.add_parser("mesh", parents=[quiet],
                       help="mesh a design (.msh and .vtu, --plot for a PNG)")
    p.add_argument("design")
    p.add_argument("-o", "--output", required=True, help="mesh file, FILE.msh")
    p.add_argument("--plot", action="store_true", help="also write FILE.png")
    p.set_defaults(func=_mesh)
    out_help = f"output directory (default {RUNS}/<file name without .toml>)"
    p = sub.add_parser("run", parents=[quiet], help="solve a design: summary.json, "
                       "solution.vtu, figures, report.md")
    p.add_argument("design")
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--solder", choices=SOLDERS, default=None,
                   help="solder model, overriding loading.solder of the design")
    p.add_argument("--cycles", type=int, default=None,
                   help="profile cycles, overriding loading.cycles of the design")
    p.add_argument("--refine", type=float, default=None, metavar="F",
                   help="mesh F times finer than the design's (0.5: a quick look)")
    p.add_argument("--submodel", action="store_true",
                   help="3D: also refine the critical joint in a local model ([submodel] "
                        "table, default refine 2)")
    p.set_defaults(func=_run)
    p = sub.add_parser("compare", parents=[quiet], help="the design against its variants with "
                       "and without elastomer and underfill: one table, compare.csv, "
                       "compare.png, report.md")
    p.add_argument("design")
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--monte-carlo", metavar="N", default=None,
                   help="also sample the design's life over its input tolerances, N samples")
    p.add_argument("--no-figures", action="store_true", help="skip the per-variant figures")
    p.add_argument("--solder", choices=SOLDERS, default=None,
                   help="solder model, overriding loading.solder of the design")
    p.add_argument("--cycles", type=int, default=None,
                   help="profile cycles, overriding loading.cycles of the design")
    p.add_argument("--refine", type=float, default=None, metavar="F",
                   help="mesh F times finer than the design's (0.5: a quick look)")
    p.add_argument("--submodel", action="store_true",
                   help="3D: also refine the critical joint in a local model ([submodel] "
                        "table, default refine 2)")
    p.set_defaults(func=_compare)
    p = sub.add_parser("sweep", parents=[quiet],
                       help="run a parameter study (dask.distributed, resumable)")
    p.add_argument("study")
    p.add_argument("--out", default=None, help=f"result directory (a rerun resumes it; "
                   f"default {RUNS}/<file name without .toml>)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None,
                       help="local worker processes (default: one per core; 0: serial)")
    group.add_argument("--scheduler", default=None, help="address of a running dask scheduler")
    p.set_defaults(func=_sweep)
    p = sub.add_parser("materials", help="print the material library")
    p.add_argument("--sources", action="store_true", help="also print every source")
    p.set_defaults(func=_materials)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (never calls sys.exit itself)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors itself (exit 2)
        return int(exc.code or 0)
    progress.configure(False if getattr(args, "quiet", False) else None)
    try:
        return args.func(args)
    except DesignError as exc:
        print(f"wlcsp: error: {exc}", file=sys.stderr)
        return 2
    except (MeshError, AnalysisError) as exc:
        print(f"wlcsp: failed: {exc}", file=sys.stderr)
        return 1


def run() -> None:  # pragma: no cover - the console-script entry point
    """Entry point of the ``wlcsp`` console script."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
