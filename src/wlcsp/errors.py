"""Exceptions of wlcsp; the CLI maps them to exit codes (1 analysis failed, 2 bad input)."""


class WlcspError(Exception):
    """Base class of every error wlcsp raises on purpose."""


class DesignError(WlcspError, ValueError):
    """Bad input: names the key path, the value and what is allowed (exit code 2)."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key} = {value!r}: {allowed}")


class MeshError(WlcspError):
    """The geometry could not be meshed, or the mesh breaks the region contract (exit code 1)."""


class AnalysisError(WlcspError):
    """A solve failed, e.g. Newton did not converge; never a silent result (exit code 1)."""
