"""3D cell meshes: size and meshing time of the seed 3D designs; the thin-layer accuracy check.

Run: ``python benchmarks/mesh3d_time.py`` (elements, nodes, DOFs = 3 x nodes, min dihedral angle,
wall-clock seconds of ``build_mesh``, median of ``--repeat`` runs) for
``studies/seed000_{bare,underfill,elastomer}_3d.toml`` at the default sizes and refined by 1.5
and 2 (:meth:`wlcsp.design.MeshSpec.refined`). Measured (``--repeat 1``, 2 shared cores, gmsh 4.15.2
with Netgen optimization; refine 1 = 3D sizes 0.3 / 0.048 mm)::

    design                   refine elements    nodes     DOFs min dih        s
    seed000_bare_3d             1.0    36915    57273   171819     4.4     4.48
    seed000_bare_3d             1.5    65734   101516   304548     4.2     7.57
    seed000_bare_3d             2.0   118110   180015   540045     4.6    13.91
    seed000_underfill_3d        1.0    53402    73712   221136     4.2     6.13
    seed000_underfill_3d        1.5    99767   136787   410361     4.3    11.28
    seed000_underfill_3d        2.0   184618   251731   755193     4.6    24.74
    seed000_elastomer_3d        1.0    34174    53618   160854     5.1     7.67
    seed000_elastomer_3d        1.5    59554    93341   280023     4.2     7.22
    seed000_elastomer_3d        2.0   108456   167347   502041     5.3    13.06

``python benchmarks/mesh3d_time.py --thin-check``: the thin-layer rule of :mod:`wlcsp.mesh3d`
(one quadratic tetrahedron through each thin layer, in-plane size ≤ ``THIN_ASPECT`` = 10
thicknesses) against a reference with ``THIN_ASPECT`` = 2.5 (near-isotropic elements in the
3-18 µm layers) and one with the joint sizes halved too, on a one-joint coupon (a quarter cell
of a 0.6 mm die with one SAC105 joint on its axis, polyimide, Cu/Ni land, Cu pad, BT), uniform
cooling 125 -> -40 °C, linear elastic, P2. It prints the volume-averaged von Mises stress per
region. Own minimal solver (scikit-fem forms), independent of wlcsp.fem.

Measured (2 cores, shared):

=========  ===================  ==========  ====================
region     default (aspect 10)  aspect 2.5  aspect 2.5, joint x2
=========  ===================  ==========  ====================
tets       2,016                7,749       10,530
die        2.37 (+7.3 %)        2.29        2.21 MPa
polyimide  24.91 (+0.9 %)       24.70       24.70
land_0_0   46.54 (+3.1 %)       45.40       45.15  (Cu)
land_0_1   204.38 (−1.4 %)      205.89      207.33 (Ni)
bump_0     17.36 (+2.4 %)       17.04       16.95
pad_0      38.32 (−1.3 %)       38.04       38.81
substrate  0.62 (+8.0 %)        0.62        0.57
=========  ===================  ==========  ====================
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from wlcsp.design import load_design
from wlcsp.mesh import build_mesh, min_angle

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"
DESIGNS = ("seed000_bare_3d", "seed000_underfill_3d", "seed000_elastomer_3d")
REFINE = (1.0, 1.5, 2.0)


def table(repeat: int) -> None:
    print(f"{'design':<24}{'refine':>7}{'elements':>9}{'nodes':>9}{'DOFs':>9}{'min dih':>8}"
          f"{'median s':>9}")
    for name in DESIGNS:
        base = load_design(STUDIES / f"{name}.toml")
        for factor in REFINE:
            raw = dict(base.raw)
            raw["mesh"] = base.mesh.refined(factor)
            design = load_design(raw)
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                pm = build_mesh(design)
                times.append(time.perf_counter() - t)
            n = pm.mesh.doflocs.shape[1]
            print(f"{name:<24}{factor:>7.1f}{pm.mesh.nelements:>9}{n:>9}{3 * n:>9}"
                  f"{min_angle(pm):>8.1f}{statistics.median(times):>9.2f}", flush=True)


def _coupon() -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import raw_design

    raw = raw_design("seed000_bare_3d")
    raw["die"]["size"] = [0.6, 0.6]
    raw["bumps"]["array"] = [1, 1]
    raw["bumps"].pop("depopulate_rows")
    raw["substrate"]["overhang"] = 0.2
    raw["cell"] = "quarter"
    return raw


def _solve(pm, T: float) -> dict[str, float]:
    """Uniform temperature T (°C) from each region's stress-free T: volume-mean von Mises."""
    import skfem
    from skfem.helpers import ddot, eye, sym_grad, trace

    m = pm.mesh
    names = list(pm.materials)
    rid = pm.material_ids
    lam, mu, sth = (np.zeros(m.nelements) for _ in range(3))
    for k, name in enumerate(names):
        mat = pm.materials[name]
        E, nu = float(mat.youngs_modulus(T)), float(mat.poisson(T))
        la, g = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
        eth = float(mat.thermal_strain(T, pm.stress_free[name]))
        lam[rid == k], mu[rid == k], sth[rid == k] = la, g, (3 * la + 2 * g) * eth
    basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementTetP2()), intorder=4)
    nq = basis.X.shape[1]
    w = {k: np.repeat(v[:, None], nq, axis=1) for k, v in (("lam", lam), ("mu", mu),
                                                            ("sth", sth))}

    @skfem.BilinearForm
    def a(u, v, p):
        e = sym_grad(u)
        return ddot(2 * p.mu * e + p.lam * eye(trace(e), 3), sym_grad(v))

    @skfem.LinearForm
    def f(v, p):
        return p.sth * trace(sym_grad(v))

    K = a.assemble(basis, **w)
    b = f.assemble(basis, **w)
    fixed = []
    for face, comp in pm.supports.items():
        fixed.append(basis.get_dofs(pm.mesh.boundaries[face]).nodal[f"u^{1 + 'xyz'.index(comp)}"])
    # stop the rigid z translation: one bottom node in z
    fixed.append(basis.get_dofs(pm.mesh.boundaries["bottom"]).nodal["u^3"][:1])
    fixed = np.unique(np.concatenate(fixed))
    from scipy.sparse.linalg import spsolve

    u = skfem.solve(*skfem.condense(K, b, D=fixed), solver=lambda A, r: spsolve(
        A, r, permc_spec="MMD_AT_PLUS_A"))
    grad = basis.interpolate(u).grad  # (3, 3, nel, nq)
    e = 0.5 * (grad + grad.transpose(1, 0, 2, 3))
    tr = np.einsum("iijk->jk", e)
    s = 2 * w["mu"] * e + (w["lam"] * tr - w["sth"]) * np.eye(3)[:, :, None, None]
    dev = s - np.einsum("iijk->jk", s) / 3 * np.eye(3)[:, :, None, None]
    vm = np.sqrt(1.5 * np.einsum("ijkl,ijkl->kl", dev, dev))
    dx = basis.dx
    return {name: float((vm * dx)[pm.mesh.subdomains[name]].sum() /
                        dx[pm.mesh.subdomains[name]].sum()) for name in names
            if not name.startswith("bump_") or name == "bump_0"}


def thin_check() -> None:
    import wlcsp.mesh3d as m3

    design = load_design(_coupon())
    raw_fine = dict(design.raw)
    raw_fine["mesh"] = design.mesh.refined(2.0)
    fine = load_design(raw_fine)
    rows = []
    for label, aspect, d in (("default (aspect 10)", 10.0, design),
                             ("aspect 2.5", 2.5, design),
                             ("aspect 2.5, joint x2", 2.5, fine)):
        m3.THIN_ASPECT = aspect
        pm = build_mesh(d)
        t = time.perf_counter()
        res = _solve(pm, -40.0)
        rows.append((label, pm.mesh.nelements, 3 * pm.mesh.doflocs.shape[1],
                     time.perf_counter() - t, res))
        print(f"{label}: {pm.mesh.nelements} tets, {rows[-1][2]} DOFs, solve "
              f"{rows[-1][3]:.1f} s", flush=True)
    m3.THIN_ASPECT = 10.0
    ref = rows[-1][4]
    print(f"\n{'region':<12}" + "".join(f"{r[0]:>24}" for r in rows) + "   (MPa; rel. to last)")
    for name in ref:
        cells = "".join(f"{r[4][name]:>14.2f} ({r[4][name] / ref[name] - 1:+.1%})"
                        for r in rows)
        print(f"{name:<12}{cells}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--thin-check", action="store_true")
    args = ap.parse_args()
    if args.thin_check:
        thin_check()
    else:
        table(args.repeat)


if __name__ == "__main__":
    main()
