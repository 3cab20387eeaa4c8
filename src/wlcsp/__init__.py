"""wlcsp: finite-element thermomechanical reliability analysis of wafer-level chip-scale packages."""

__version__ = "0.1.0"
