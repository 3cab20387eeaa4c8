"""Post-processing kernels over a solution: equivalent stresses, averages, interfaces, warpage.

Everything works on quadrature-point arrays (nelems, nqp, 4) with components
``[σ_xx, σ_yy, σ_zz|σ_θθ, σ_xy|σ_rz]`` (MPa) and on a :class:`Solution` (any object with the
attributes of :class:`wlcsp.fem.thermoelastic.ThermoelasticSolution` listed there, so the
viscoplastic solver's states work too). Volume averages use the quadrature weights ``kin.dV``,
which carry 2πr in the axisymmetric model: ⟨f⟩ = Σ f dV / Σ dV.

Peak values at bimaterial corners are singular (Bogy, *J. Appl. Mech.* 35:460, 1968, and 38:377,
1971): they grow without bound under mesh refinement and are reported for display only; bumps
are ranked by volume averages (Rzepka et al. 2002; Darveaux 2000).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import DesignError, MeshError
from .fem.kinematics import Kinematics

DARVEAUX_LAYER = 0.0254
"""Thickness (mm) of the interface layer of the Darveaux average: 1 mil = 0.0254 mm, the layer at
the pad interface over which Darveaux (ECTC 2000, "Effect of simulation methodology on solder
joint crack growth correlation") averaged the inelastic work density to calibrate K1..K4."""

_BUMP = re.compile(r"bump_(\d+)$")


class Solution(Protocol):
    """What the kernels read from a solution (see ``ThermoelasticSolution``)."""

    kind: str
    u: np.ndarray
    stress: np.ndarray
    mechanical_strain: np.ndarray
    kin: Kinematics
    regions: tuple[str, ...]
    region_id: np.ndarray


def von_mises(stress: np.ndarray) -> np.ndarray:
    """Von Mises stress (MPa) of ``stress`` (..., 4), σ_zz (σ_θθ) included.

    √(½[(σx−σy)² + (σy−σz)² + (σz−σx)²] + 3τ²), so plane strain's out-of-plane stress counts.
    """
    sx, sy, sz, txy = np.moveaxis(stress, -1, 0)
    return np.sqrt(0.5 * ((sx - sy) ** 2 + (sy - sz) ** 2 + (sz - sx) ** 2) + 3.0 * txy**2)


def principal_stresses(stress: np.ndarray) -> np.ndarray:
    """Principal stresses (..., 3) in MPa, largest first.

    The in-plane pair (σx+σy)/2 ± √(((σx−σy)/2)² + τ²) and σ_zz (σ_θθ), which is principal in
    the 2D models.
    """
    sx, sy, sz, txy = np.moveaxis(stress, -1, 0)
    c = 0.5 * (sx + sy)
    r = np.hypot(0.5 * (sx - sy), txy)
    return -np.sort(-np.stack([c + r, c - r, sz], axis=-1), axis=-1)


def shear(stress: np.ndarray) -> np.ndarray:
    """In-plane shear σ_xy (σ_rz), signed, MPa."""
    return stress[..., 3]


def region_mask(sol: Solution, name: str) -> np.ndarray:
    """Boolean (nelems,) of the elements of region ``name``."""
    if name not in sol.regions:
        raise DesignError("region", name, f"one of {', '.join(sol.regions)}")
    return sol.region_id == sol.regions.index(name)


def volume_average(kin: Kinematics, field: np.ndarray, weight: np.ndarray | None = None) -> float:
    """⟨f⟩ = Σ f w dV / Σ w dV of a quadrature field (nelems, nqp).

    ``weight`` (nelems,) or (nelems, nqp), boolean or real, selects elements or points
    (default: all).
    """
    w = kin.dV if weight is None else kin.dV * (weight if np.ndim(weight) == 2 else weight[:, None])
    total = float(np.sum(w))
    if total <= 0.0:
        raise DesignError("selection", "empty", "the averaging volume must be > 0")
    return float(np.sum(field * w) / total)


def region_summary(sol: Solution) -> dict[str, dict[str, float]]:
    """Per region: ``max_von_mises`` and ``mean_von_mises`` (MPa, volume-weighted)."""
    vm = von_mises(sol.stress)
    out = {}
    for name in sol.regions:
        mask = region_mask(sol, name)
        out[name] = {
            "max_von_mises": float(vm[mask].max()),
            "mean_von_mises": volume_average(sol.kin, vm, mask),
        }
    return out


def bump_names(sol: Solution) -> list[str]:
    """Regions named ``bump_<i>``, by i (i = 0 innermost)."""
    found = sorted((int(m.group(1)), r) for r in sol.regions if (m := _BUMP.match(r)))
    return [r for _, r in found]


def bump_summary(sol: Solution, dnp: Sequence[float] | None = None) -> list[dict[str, float]]:
    """Per-bump figures, by bump index.

    ``dnp`` (mm), ``max_von_mises``, ``mean_von_mises``, ``mean_shear`` (signed volume average
    of σ_xy / σ_rz) and ``max_shear`` (largest |σ_xy|; singular at the corners, display only),
    all MPa.

    ``dnp`` defaults to the area centroid x of each bump's section.
    """
    names = bump_names(sol)
    if dnp is not None and len(dnp) != len(names):
        raise DesignError("dnp", list(dnp), f"one distance per bump ({len(names)})")
    vm = von_mises(sol.stress)
    tau = shear(sol.stress)
    area = sol.kin.dV / (2.0 * np.pi * sol.kin.x[0]) if sol.kind == "axisymmetric" else sol.kin.dV
    out = []
    for i, name in enumerate(names):
        mask = region_mask(sol, name)
        x_c = float(np.sum(sol.kin.x[0][mask] * area[mask]) / np.sum(area[mask]))
        out.append({
            "dnp": x_c if dnp is None else float(dnp[i]),
            "max_von_mises": float(vm[mask].max()),
            "mean_von_mises": volume_average(sol.kin, vm, mask),
            "mean_shear": volume_average(sol.kin, tau, mask),
            "max_shear": float(np.abs(tau[mask]).max()),
        })
    return out


def _facets(sol: Solution, boundary: str) -> np.ndarray:
    boundaries = sol.kin.scalar.mesh.boundaries or {}
    if boundary not in boundaries:
        raise MeshError(f"boundary {boundary!r} not in the mesh (boundaries: {sorted(boundaries)})")
    return np.asarray(boundaries[boundary])


@dataclass(frozen=True)
class InterfaceStress:
    """Stress next to an interface, one row per facet, sorted by x (mm).

    ``stress`` (nfacets, 4) is the volume-mean stress of the element on the requested side,
    ``normal`` (nfacets, 2) the facet's unit normal pointing out of that element, ``sigma_n``
    the normal (peel) stress nᵀσn and ``tau`` the shear tᵀσn with t = (n_y, −n_x), which is
    σ_xy on a horizontal interface from either side.
    """

    x: np.ndarray
    normal: np.ndarray
    stress: np.ndarray
    sigma_n: np.ndarray
    tau: np.ndarray


def interface_stress(sol: Solution, boundary: str, region: str) -> InterfaceStress:
    """Stresses along the facet set ``boundary`` on the side of ``region`` (e.g. the solder).

    The element mean is used rather than a value extrapolated onto the facet: the interface
    stress is discontinuous and singular at its ends, and the mean of the adjacent element is
    the quantity that converges (a layer of one element, cf. :func:`interface_layer_mask`).
    """
    mesh = sol.kin.scalar.mesh
    facets = _facets(sol, boundary)
    inside = region_mask(sol, region)
    t2f = mesh.f2t[:, facets]
    side = np.where((t2f[0] >= 0) & inside[np.maximum(t2f[0], 0)], 0, 1)
    elems = t2f[side, np.arange(facets.size)]
    if np.any(elems < 0) or not np.all(inside[elems]):
        raise MeshError(f"boundary {boundary!r} does not border region {region!r} everywhere")
    p = mesh.p[:, mesh.facets[:, facets]]  # (2, 2, nf)
    mid = p.mean(axis=1)
    tangent = p[:, 1] - p[:, 0]
    n = np.array([tangent[1], -tangent[0]]) / np.linalg.norm(tangent, axis=0)
    centroid = mesh.p[:, mesh.t[:3, elems]].mean(axis=1)
    n *= np.where(np.sum((mid - centroid) * n, axis=0) < 0, -1.0, 1.0)
    dV = sol.kin.dV[elems]
    s = np.einsum("eqc,eq->ec", sol.stress[elems], dV) / dV.sum(axis=1)[:, None]
    nx, ny = n
    sigma_n = s[:, 0] * nx**2 + s[:, 1] * ny**2 + 2.0 * s[:, 3] * nx * ny
    tau = (s[:, 0] - s[:, 1]) * nx * ny + s[:, 3] * (ny**2 - nx**2)
    order = np.argsort(mid[0])
    return InterfaceStress(mid[0, order], n.T[order], s[order], sigma_n[order], tau[order])


def interface_layer_mask(
    sol: Solution, boundary: str, region: str, thickness: float = DARVEAUX_LAYER
) -> np.ndarray:
    """Quadrature points (nelems, nqp) of ``region`` within ``thickness`` (mm) of ``boundary``.

    The layer is selected point by point: an element only partly inside the layer contributes
    the quadrature points that lie inside, each with its own weight, so the layer volume
    converges to the exact one under refinement and no element straddling the layer's edge is
    counted whole or dropped whole. Distances are to the facets' chords (straight segments
    between their end vertices). Default thickness :data:`DARVEAUX_LAYER`.
    """
    if not thickness > 0:
        raise DesignError("darveaux_layer", thickness, "a thickness > 0 mm")
    mesh = sol.kin.scalar.mesh
    seg = mesh.p[:, mesh.facets[:, _facets(sol, boundary)]]  # (2, 2, nf)
    a, d = seg[:, 0], seg[:, 1] - seg[:, 0]
    elems = np.flatnonzero(region_mask(sol, region))
    pts = sol.kin.x[:, elems].reshape(2, -1)  # (2, P)
    dist = np.full(pts.shape[1], np.inf)
    for k in range(a.shape[1]):  # facets of one interface: tens to hundreds
        w = pts - a[:, k : k + 1]
        t = np.clip((w[0] * d[0, k] + w[1] * d[1, k]) / (d[:, k] @ d[:, k]), 0.0, 1.0)
        dist = np.minimum(dist, np.hypot(w[0] - t * d[0, k], w[1] - t * d[1, k]))
    mask = np.zeros(sol.kin.dV.shape, dtype=bool)
    mask[elems] = (dist <= thickness).reshape(elems.size, -1)
    if not mask.any():
        raise MeshError(f"no quadrature point of {region!r} lies within {thickness} mm of "
                        f"{boundary!r}")
    return mask


def interface_layer_average(
    sol: Solution, field: np.ndarray, boundary: str, region: str,
    thickness: float = DARVEAUX_LAYER,
) -> float:
    """Darveaux average ΔW_ave = Σ ΔW dV / Σ dV of a quadrature field over the interface layer."""
    return volume_average(sol.kin, field, interface_layer_mask(sol, boundary, region, thickness))


def warpage(sol: Solution, boundary: str = "bottom") -> float:
    """u_y(edge) − u_y(centre) of ``boundary`` (mm): positive when the edges rise ("smile").

    Centre and edge are the boundary's nodes of least and greatest x.
    """
    dofs = sol.kin.boundary_dofs(_facets(sol, boundary), "y")
    x = sol.kin.dof_locations[0, dofs]
    return float(sol.u[dofs[np.argmax(x)]] - sol.u[dofs[np.argmin(x)]])


def summary(sol: Solution, dnp: Sequence[float] | None = None) -> dict[str, object]:
    """The stress part of ``summary.json``: ``warpage``, ``regions`` and ``bumps``."""
    return {
        "warpage": warpage(sol),
        "regions": region_summary(sol),
        "bumps": bump_summary(sol, dnp),
    }


def element_means(sol: Solution, field: np.ndarray) -> np.ndarray:
    """Volume mean per element (nelems, ...) of a quadrature field (nelems, nqp, ...)."""
    dV = sol.kin.dV
    return np.einsum("eq...,eq->e...", field, dV) / dV.sum(axis=1).reshape(
        (-1,) + (1,) * (field.ndim - 2))


def write_vtu(path: str | Path, sol: Solution,
              extra_cells: Mapping[str, np.ndarray] | None = None) -> None:
    """Write the solution as VTU for ParaView.

    ``displacement`` at the vertices (point data); per cell the element means of ``stress``,
    ``strain`` (mechanical), ``von_mises``, and ``material_id`` (index into ``sol.regions``).

    ``extra_cells`` adds more cell fields (nelems,) or (nelems, k), e.g. inelastic strain.
    Stress and strain components are xx, yy, zz (θθ), xy (rz).
    """
    import meshio

    mesh = sol.kin.scalar.mesh
    nv = mesh.nvertices  # MeshTri2 keeps its edge nodes in p after the vertices
    node = sol.kin.scalar.nodal_dofs[0, :nv]
    disp = np.zeros((nv, 3))
    disp[:, 0], disp[:, 1] = sol.u[2 * node], sol.u[2 * node + 1]
    cells = {
        "stress": element_means(sol, sol.stress),
        "strain": element_means(sol, sol.mechanical_strain),
        "von_mises": element_means(sol, von_mises(sol.stress)),
        "material_id": sol.region_id.astype(np.int32),
        **dict(extra_cells or {}),
    }
    for k, v in cells.items():
        if len(v) != mesh.nelements:
            raise ValueError(f"len(cells['{k}']) = {len(v)}, but the mesh has {mesh.nelements}")
    out = meshio.Mesh(
        points=np.vstack([mesh.p[:, :nv], np.zeros(nv)]).T,
        cells=[("triangle", mesh.t[:3].T.astype(np.int64))],
        point_data={"displacement": disp},
        cell_data={k: [np.asarray(v)] for k, v in cells.items()},
    )
    out.write(Path(path))
