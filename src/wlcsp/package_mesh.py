"""The mesh of one package as the solvers see it, and the gmsh session both meshers open.

:mod:`wlcsp.mesh` (2D sections) and :mod:`wlcsp.mesh3d` (3D symmetry cells) both return a
:class:`PackageMesh`; this module is below both, so neither imports the other's internals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import gmsh
import numpy as np
import skfem

from .errors import MeshError
from .geometry import Regions
from .materials import Material


@dataclass(frozen=True)
class PackageMesh:
    """A conforming, tagged 2D mesh of one package and what the solver needs to know about it.

    ``mesh.subdomains`` maps every region (material regions, which partition the elements, and
    the unions ``land_<i>``) to element indices; ``mesh.boundaries`` maps ``axis``, ``bottom``,
    ``bump_<i>_top`` and ``bump_<i>_bottom`` to facet indices.
    """

    mesh: skfem.Mesh
    materials: dict[str, Material]
    """Material of every material region."""
    stress_free: dict[str, float]
    """Stress-free temperature of every material region (°C)."""
    model: str
    order: int
    regions: Regions
    dnp: tuple[float, ...]
    seconds: float = 0.0
    groups: dict[str, list[str]] = field(default_factory=dict)
    """Union groups, e.g. ``land_3`` -> [``land_3_0``, ``land_3_1``]."""
    supports: dict[str, str] = field(default_factory=lambda: {"axis": "x"})
    """Boundary -> displacement components held at zero on it (2D: the symmetry line / axis;
    3D: every symmetry face of the cell, e.g. ``{"sym_x": "x", "sym_y": "y"}``)."""
    plane_faces: dict[str, str] = field(default_factory=dict)
    """Cut faces that stay plane -> their normal component (3D strip: ``{"plane_y": "y"}``)."""
    dim: int = 2
    """Spatial dimension of the mesh (2 or 3)."""

    @property
    def material_ids(self) -> np.ndarray:
        """Per element, the index of its region in ``materials`` (for plots and VTU)."""
        ids = np.full(self.mesh.nelements, -1, dtype=np.int32)
        for k, name in enumerate(self.materials):
            ids[self.mesh.subdomains[name]] = k
        return ids


@contextlib.contextmanager
def gmsh_session() -> Iterator[None]:
    """One gmsh model for the ``with`` block; gmsh's bare exceptions become :class:`MeshError`."""
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("wlcsp")
        yield
    except Exception as exc:  # gmsh raises bare Exceptions with its log message
        if isinstance(exc, MeshError):
            raise
        raise MeshError(f"gmsh failed: {exc}") from exc
    finally:
        gmsh.finalize()
