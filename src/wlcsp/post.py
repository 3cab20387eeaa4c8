"""Post-processing kernels over a solution: equivalent stresses, averages, interfaces, warpage.

Everything works on quadrature-point arrays (nelems, nqp, ncomp): the three normal components
first, then the shears (engineering strains), ``[σ_xx, σ_yy, σ_zz|σ_θθ, σ_xy|σ_rz]`` in the 2D
models and ``[σ_xx, σ_yy, σ_zz, σ_xy, σ_xz, σ_yz]`` in 3D (MPa), and on a :class:`Solution` (any
object with the attributes of :class:`wlcsp.fem.thermoelastic.ThermoelasticSolution` listed
there, so the viscoplastic solver's states work too). What depends on the model dimension comes
from the kinematics (``kin.vertical``, ``kin.shear_along``, the facet shapes of the mesh), never
from asking which model it is. Volume averages use the quadrature weights ``kin.dV``, which carry
2πr in the axisymmetric model: ⟨f⟩ = Σ f dV / Σ dV.

Peak values at bimaterial corners are singular (Bogy, *J. Appl. Mech.* 35:460, 1968, and 38:377,
1971): they grow without bound under mesh refinement and are reported for display only; bumps
are ranked by volume averages (Rzepka et al. 2002; Darveaux 2000).
"""

from __future__ import annotations

import math
import re
import weakref
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


_SHEAR_PAIRS = {4: ((0, 1),), 6: ((0, 1), (0, 2), (1, 2))}
"""Tensor positions of the shear components of a 2D (4) or 3D (6) component vector."""


def von_mises(stress: np.ndarray) -> np.ndarray:
    """Von Mises stress (MPa) of ``stress`` (..., 4 or 6), σ_zz (σ_θθ) included.

    √(½[(σx−σy)² + (σy−σz)² + (σz−σx)²] + 3 Σ τ²), so plane strain's out-of-plane stress counts.
    """
    sx, sy, sz = np.moveaxis(stress[..., :3], -1, 0)
    tau2 = np.sum(stress[..., 3:] ** 2, axis=-1)
    return np.sqrt(0.5 * ((sx - sy) ** 2 + (sy - sz) ** 2 + (sz - sx) ** 2) + 3.0 * tau2)


def equivalent_strain(strain: np.ndarray) -> np.ndarray:
    """Von Mises equivalent strain √(2/3 e:e) of engineering-shear strains (..., 4 or 6)."""
    e = strain[..., :3] - strain[..., :3].mean(axis=-1, keepdims=True)
    return np.sqrt(2.0 / 3.0 * (np.sum(e**2, axis=-1) + 0.5 * np.sum(strain[..., 3:] ** 2,
                                                                     axis=-1)))


def tensor(stress: np.ndarray) -> np.ndarray:
    """The symmetric 3 × 3 tensor (..., 3, 3) of a component vector (..., 4 or 6) of stresses.

    In the 2D models σ_zz (σ_θθ) is principal: the 2D vector has no out-of-plane shears.
    """
    t = np.zeros((*stress.shape[:-1], 3, 3))
    for k in range(3):
        t[..., k, k] = stress[..., k]
    for c, (i, j) in enumerate(_SHEAR_PAIRS[stress.shape[-1]], start=3):
        t[..., i, j] = t[..., j, i] = stress[..., c]
    return t


def principal_stresses(stress: np.ndarray) -> np.ndarray:
    """Principal stresses (..., 3) in MPa, largest first: eigenvalues of :func:`tensor`."""
    return np.linalg.eigvalsh(tensor(stress))[..., ::-1]


def shear(kin: Kinematics, stress: np.ndarray,
          direction: tuple[float, float] = (1.0, 0.0)) -> np.ndarray:
    """The joint's transverse shear (MPa, signed), ``kin.shear_along``.

    σ_xy (σ_rz) in 2D; in 3D the shear on horizontal planes along the in-plane unit vector
    ``direction`` (the bump's DNP direction).
    """
    return kin.shear_along(stress, direction)


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


def bump_summary(sol: Solution, dnp: Sequence[float],
                 directions: Sequence[tuple[float, float]] | None = None
                 ) -> list[dict[str, float]]:
    """Per-bump figures, by bump index.

    ``dnp`` (mm), ``max_von_mises``, ``mean_von_mises``, ``mean_shear`` (signed volume average
    of the joint shear :func:`shear` along the bump's ``directions[i]``, σ_xy / σ_rz in 2D) and
    ``max_shear`` (largest |shear|; singular at the corners, display only), all MPa, and the
    ``shear_direction`` used.
    """
    names = bump_names(sol)
    if len(dnp) != len(names):
        raise DesignError("dnp", list(dnp), f"one distance per bump ({len(names)})")
    directions = directions or [(1.0, 0.0)] * len(names)
    vm = von_mises(sol.stress)
    out = []
    for i, name in enumerate(names):
        mask = region_mask(sol, name)
        tau = shear(sol.kin, sol.stress[mask], directions[i])
        w = sol.kin.dV[mask]
        out.append({
            "dnp": float(dnp[i]),
            "max_von_mises": float(vm[mask].max()),
            "mean_von_mises": volume_average(sol.kin, vm, mask),
            "mean_shear": float(np.sum(tau * w) / np.sum(w)),
            "shear_direction": [float(c) for c in directions[i]],
            "max_shear": float(np.abs(tau).max()),
        })
    return out


BUMP_RANGES = ("delta_shear_strain", "delta_equivalent_strain", "delta_elastic_energy_density",
               "delta_mean_shear")
"""The per-bump ranges of :func:`joint_ranges` that an elastic analysis reports (of the cell's
bumps, :mod:`wlcsp.analysis`, and of a refined joint, :mod:`wlcsp.refined_joint`)."""


def joint_ranges(a: Solution | None, b: Solution, bump: int,
                 direction: tuple[float, float] = (1.0, 0.0)) -> dict[str, float]:
    """Ranges of joint ``bump_<bump>`` between the states ``a`` and ``b`` (same mesh).

    ``a = None`` is the stress-free state (zero mechanical strain and stress).

    ``delta_shear_strain`` |⟨Δγ⟩| along ``direction`` and ``delta_equivalent_strain`` ⟨Δε_eq⟩
    (volume averages of the mechanical strain range), ``delta_mean_shear`` ⟨Δτ⟩ (MPa), and the
    elastic energy density ½ Δσ:Δε (MPa) averaged over the Darveaux layer (:data:`DARVEAUX_LAYER`)
    at each pad interface, ``darveaux_top`` / ``darveaux_bottom``, and the worse of the two,
    ``delta_elastic_energy_density``.
    """
    return all_joint_ranges(a, b, {bump: direction})[bump]


def all_joint_ranges(a: Solution | None, b: Solution,
                     directions: Mapping[int, tuple[float, float]]
                     ) -> dict[int, dict[str, float]]:
    """:func:`joint_ranges` of every joint in ``directions`` (bump -> its shear direction).

    The range fields (strain, stress, energy density, equivalent strain) are formed once for
    all joints.
    """
    d_eps = b.mechanical_strain if a is None else b.mechanical_strain - a.mechanical_strain
    d_sig = b.stress if a is None else b.stress - a.stress
    energy = 0.5 * np.einsum("eqc,eqc->eq", d_sig, d_eps)  # engineering γ: σ_xy γ_xy
    eq = equivalent_strain(d_eps)
    out = {}
    for bump, direction in directions.items():
        name = f"bump_{bump}"
        mask = region_mask(b, name)
        layers = {side: interface_layer_average(b, energy, f"{name}_{side}", name)
                  for side in ("top", "bottom")}
        out[bump] = {
            "delta_shear_strain": abs(volume_average(b.kin, shear(b.kin, d_eps, direction),
                                                     mask)),
            "delta_equivalent_strain": volume_average(b.kin, eq, mask),
            "delta_mean_shear": volume_average(b.kin, shear(b.kin, d_sig, direction), mask),
            "darveaux_top": layers["top"],
            "darveaux_bottom": layers["bottom"],
            "delta_elastic_energy_density": max(layers.values()),
        }
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


def peak_site(kin: Kinematics, field: np.ndarray, layer: np.ndarray, joint: np.ndarray,
              direction: Sequence[float], radius: float) -> dict[str, float | list[float]]:
    """Where a quadrature field (nelems, nqp) peaks in an interface layer of a joint.

    The peak is taken over element means within the layer (``layer``: its points, (nelems,
    nqp)), not over points, so that one point at a singular corner does not decide it.
    ``position_mm`` is the dV-weighted centroid of that element's layer points; ``azimuth_deg``
    the angle in the plane of the die between the joint's outward DNP ``direction`` and the
    line from the joint's axis (volume centroid of ``joint``, (nelems,)) to the peak: 0° is the
    joint's side away from the neutral point, 180° the side towards it (2D: 0 or 180);
    ``radius_fraction`` its distance from the axis over the interface ``radius`` (mm).
    """
    w = kin.dV * layer
    mass = w.sum(axis=1)
    inside = np.flatnonzero(mass > 0)
    if inside.size == 0:
        raise DesignError("selection", "empty", "the interface layer must hold points")
    means = (field[inside] * w[inside]).sum(axis=1) / mass[inside]
    e = inside[int(np.argmax(means))]
    flat = kin.dim - 1  # the in-plane coordinates come first, the vertical one last
    where = (kin.x[:, e] * w[e]).sum(axis=1) / mass[e]
    vol = kin.dV * joint[:, None]
    axis = (kin.x[:flat] * vol).sum(axis=(1, 2)) / vol.sum()
    v = where[:flat] - axis
    d = np.asarray(direction, dtype=float)[:flat]
    d = d / np.linalg.norm(d)
    if flat == 1:
        azimuth = 0.0 if v[0] * d[0] >= 0 else 180.0
    else:
        azimuth = math.degrees(math.atan2(d[0] * v[1] - d[1] * v[0], float(d @ v)))
    return {"position_mm": [float(c) for c in where], "azimuth_deg": azimuth,
            "radius_fraction": float(np.linalg.norm(v) / radius)}


def interface_layer_mask(
    sol: Solution, boundary: str, region: str, thickness: float = DARVEAUX_LAYER
) -> np.ndarray:
    """Quadrature points (nelems, nqp) of ``region`` within ``thickness`` (mm) of ``boundary``.

    The layer is selected point by point: an element only partly inside the layer contributes
    the quadrature points that lie inside, each with its own weight, so the layer volume
    converges to the exact one under refinement and no element straddling the layer's edge is
    counted whole or dropped whole. Distances are to the facets' straight chords (segments in
    2D, flat triangles in 3D, between their vertices), exact over the :data:`NEAREST_FACETS`
    facets whose centroids lie nearest each point. Default thickness :data:`DARVEAUX_LAYER`.
    """
    if not thickness > 0:
        raise DesignError("darveaux_layer", thickness, "a thickness > 0 mm")
    cache = _LAYER_MASKS.setdefault(sol.kin, {})
    key = (boundary, region, float(thickness))
    if key not in cache:
        cache[key] = _layer_mask(sol, boundary, region, thickness)
        cache[key].flags.writeable = False
    return cache[key]


_LAYER_MASKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Interface-layer masks by kinematics (mesh and quadrature) and (boundary, region, thickness):
a geometric selection, the same for every solution on those kinematics, which the Monte Carlo
and the cycle analysis average over hundreds of times."""


def _layer_mask(sol: Solution, boundary: str, region: str, thickness: float) -> np.ndarray:
    """:func:`interface_layer_mask`, computed."""
    from scipy.spatial import cKDTree

    mesh = sol.kin.scalar.mesh
    dim = mesh.p.shape[0]
    simplex = mesh.p[:, mesh.facets[:dim, _facets(sol, boundary)]]  # (dim, dim, nf)
    elems = np.flatnonzero(region_mask(sol, region))
    pts = sol.kin.x[:, elems].reshape(dim, -1).T  # (P, dim)
    lo = simplex.min(axis=(1, 2)) - thickness
    hi = simplex.max(axis=(1, 2)) + thickness
    near = np.flatnonzero(np.all((pts >= lo) & (pts <= hi), axis=1))
    dist = np.full(pts.shape[0], np.inf)
    if near.size:
        corners = np.moveaxis(simplex, 2, 0)  # (nf, dim, nv): corner v of facet f is [f, :, v]
        k = min(NEAREST_FACETS, corners.shape[0])
        _, cand = cKDTree(corners.mean(axis=2)).query(pts[near], k=k)
        cand = cand.reshape(near.size, k)
        d = _distance_to_simplices(pts[near][:, None, :], corners[cand])
        dist[near] = d.min(axis=1)
    mask = np.zeros(sol.kin.dV.shape, dtype=bool)
    mask[elems] = (dist <= thickness).reshape(elems.size, -1)
    if not mask.any():
        raise MeshError(f"no quadrature point of {region!r} lies within {thickness} mm of "
                        f"{boundary!r}")
    return mask


NEAREST_FACETS = 16
"""Facets (by centroid) whose exact distance to a point is taken in :func:`interface_layer_mask`."""


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points p (..., d) to the segments [a, b] (..., d)."""
    d = b - a
    t = np.clip(np.sum((p - a) * d, axis=-1) / np.sum(d * d, axis=-1), 0.0, 1.0)
    return np.linalg.norm(p - a - t[..., None] * d, axis=-1)


def _distance_to_simplices(p: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Distance of points p (P, 1, d) to facets ``corners`` (P, k, d, nv): segments or triangles.

    A triangle's distance is the distance to its plane where the foot of the perpendicular lies
    inside it (barycentric coordinates ≥ 0), else the least distance to its three edges.
    """
    c = [corners[..., v] for v in range(corners.shape[-1])]
    if len(c) == 2:
        return _segment_distance(p, c[0], c[1])
    a, e1, e2 = c[0], c[1] - c[0], c[2] - c[0]
    n = np.cross(e1, e2)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    w = p - a
    h = np.sum(w * n, axis=-1)
    foot = w - h[..., None] * n
    d11, d12, d22 = (np.sum(e1 * e1, -1), np.sum(e1 * e2, -1), np.sum(e2 * e2, -1))
    f1, f2 = np.sum(foot * e1, -1), np.sum(foot * e2, -1)
    det = d11 * d22 - d12**2
    s, t = (d22 * f1 - d12 * f2) / det, (d11 * f2 - d12 * f1) / det
    inside = (s >= 0) & (t >= 0) & (s + t <= 1)
    edges = np.minimum(np.minimum(_segment_distance(p, c[0], c[1]),
                                  _segment_distance(p, c[1], c[2])),
                       _segment_distance(p, c[2], c[0]))
    return np.where(inside, np.abs(h), edges)


def interface_layer_average(
    sol: Solution, field: np.ndarray, boundary: str, region: str,
    thickness: float = DARVEAUX_LAYER,
) -> float:
    """Darveaux average ΔW_ave = Σ ΔW dV / Σ dV of a quadrature field over the interface layer."""
    return volume_average(sol.kin, field, interface_layer_mask(sol, boundary, region, thickness))


LINE_TOL = 1e-9
"""Relative tolerance (of the cell size) for nodes on the line y = y_min of :func:`warpage`."""


def warpage_map(sol: Solution, boundary: str = "bottom") -> tuple[np.ndarray, np.ndarray]:
    """In-plane coordinates (n, dim − 1) and vertical displacement (n,) of ``boundary``'s nodes.

    mm; the vertical axis is ``kin.vertical``: y in 2D, z in 3D.
    """
    up = sol.kin.vertical
    dofs = sol.kin.boundary_dofs(_facets(sol, boundary), "xyz"[up])
    xyz = sol.kin.dof_locations[:, dofs]
    plane = np.delete(xyz, up, axis=0).T
    return plane, sol.u[dofs]


def warpage(sol: Solution, boundary: str = "bottom") -> float:
    """u_up(edge) − u_up(centre) of ``boundary`` (mm): positive when the edges rise ("smile").

    Along the first in-plane axis: the section's x (r) in 2D; in 3D the die's long axis x along
    the cell's innermost line y = y_min (the x axis of a quarter cell, the cut face of a strip
    cell). Centre and edge are that line's nodes nearest to and farthest from x = 0. A strip cell
    leaves the rigid rotation about x to a hold (its plane face does not fix the slope of u_z
    across the rows), so a difference across y would measure that hold; along x it is invariant.
    """
    plane, w = warpage_map(sol, boundary)
    if plane.shape[1] > 1:
        y = plane[:, 1]
        line = np.abs(y - y.min()) <= LINE_TOL * max(float(np.ptp(plane)), 1.0)
        plane, w = plane[line], w[line]
    x = np.abs(plane[:, 0])
    return float(w[np.argmax(x)] - w[np.argmin(x)])


def summary(sol: Solution, dnp: Sequence[float],
            directions: Sequence[tuple[float, float]] | None = None) -> dict[str, object]:
    """The stress part of ``summary.json``: ``warpage``, ``regions`` and ``bumps``."""
    return {
        "warpage": warpage(sol),
        "regions": region_summary(sol),
        "bumps": bump_summary(sol, dnp, directions),
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
    Stress and strain components are ``kin.components`` (2D xx, yy, zz (θθ), xy (rz); 3D xx, yy,
    zz, xy, xz, yz); the field data maps every region name to its ``material_id``.
    """
    import meshio

    mesh = sol.kin.scalar.mesh
    dim = mesh.p.shape[0]
    nv = mesh.nvertices  # MeshTri2/MeshTet2 keep their edge nodes in p after the vertices
    node = sol.kin.scalar.nodal_dofs[0, :nv]
    disp = np.zeros((nv, 3))
    for c in range(dim):
        disp[:, c] = sol.u[dim * node + c]
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
    points = np.zeros((nv, 3))
    points[:, :dim] = mesh.p[:, :nv].T
    out = meshio.Mesh(
        points=points,
        cells=[("triangle" if dim == 2 else "tetra", mesh.t[:dim + 1].T.astype(np.int64))],
        point_data={"displacement": disp},
        cell_data={k: [np.asarray(v)] for k, v in cells.items()},
        field_data={name: np.array([k, dim]) for k, name in enumerate(sol.regions)},
    )
    out.write(Path(path))
