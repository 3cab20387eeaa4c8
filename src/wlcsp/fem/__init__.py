"""Finite-element kernels: kinematics, thermoelastic and viscoplastic solves."""
