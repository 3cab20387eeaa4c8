"""Figures of 3D cell meshes: the surface coloured by material and a section through a joint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.collections import PolyCollection
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from .plots import _finish, _material_colors, material_legend, plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .mesh import PackageMesh

_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))


def section(pm: PackageMesh, axis: int, value: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Cut the straight-sided tetrahedra by the plane x_axis = value.

    Returns the section polygons (each (n, 2) in the two other coordinates, n = 3 or 4) and the
    index of the element each comes from.
    """
    p, t = pm.mesh.p, pm.mesh.t
    d = p[axis, t] - value  # (4, nel)
    hit = np.flatnonzero((d.min(axis=0) < 0) & (d.max(axis=0) > 0))
    other = [k for k in range(3) if k != axis]
    polys = []
    for e in hit:
        pts = []
        for a, b in _EDGES:
            da, db = d[a, e], d[b, e]
            if (da < 0) != (db < 0) and da != db:
                s = da / (da - db)
                pts.append(p[other, t[a, e]] + s * (p[other, t[b, e]] - p[other, t[a, e]]))
        q = np.array(pts)
        c = q.mean(axis=0)
        q = q[np.argsort(np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0]))]
        polys.append(q)
    return polys, hit


def plot_mesh3d(pm: PackageMesh, path: str | Path | None = None) -> Figure:
    """The cell's surface mesh coloured by material (oblique view) and a cut through a joint.

    The cut is the plane y = y_c through the centre of the outermost (critical, largest DNP)
    joint, zoomed on it: solder, pad, land metals, layers and underfill in section.
    """
    m = pm.mesh
    faces, color = _material_colors(pm)
    fig = plt.figure(figsize=(12, 5.2))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    bf = m.boundary_facets()
    owner = m.f2t[0, bf]
    tri = np.transpose(m.p[:, m.facets[:, bf]], (2, 1, 0))
    ax.add_collection3d(Poly3DCollection(tri, facecolors=faces[owner], edgecolors="k",
                                         linewidths=0.03))
    lo, hi = m.p.min(axis=1), m.p.max(axis=1)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_box_aspect(tuple(hi - lo))
    ax.view_init(elev=28, azim=-62)
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_zlabel("z (mm)")
    kind = getattr(getattr(pm, "regions", None), "faces", {})
    ax.set_title(f"3D cell ({', '.join(kind)}): {m.nelements} tetrahedra, order {pm.order}",
                 fontsize=9, loc="left")

    i = len(pm.dnp) - 1
    joint = pm.regions.region(f"bump_{i}").parts[0]
    xc, yc, w = joint.xc, joint.yc, 1.4 * joint.half_width
    polys, elems = section(pm, 1, yc + 1e-7)
    cut = fig.add_subplot(1, 2, 2)
    cut.add_collection(PolyCollection(polys, facecolors=faces[elems], edgecolors="k",
                                      linewidths=0.15))
    z0 = joint.z0 - 0.06
    cut.set_xlim(max(xc - w, lo[0]), xc + w)
    cut.set_ylim(z0, z0 + 1.6 * w)
    cut.set_aspect("equal")
    cut.set_xlabel("x (mm)")
    cut.set_ylabel("z (mm)")
    cut.set_title(f"section y = {yc:.3g} mm through bump_{i} (outermost, DNP {pm.dnp[i]:.3g} mm)",
                  fontsize=9, loc="left")
    material_legend(cut, color, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return _finish(fig, path, close=False)
