"""wlcsp: finite-element thermomechanical reliability analysis of wafer-level CSPs."""

__version__ = "0.1.0"
