"""Analytic validation of the thermoelastic solver: each test names its closed form and source."""
