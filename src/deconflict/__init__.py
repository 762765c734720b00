"""deconflict: a neutral broker that keeps mutually distrustful parties' aircraft apart.

The package is organised by domain concept (``geo``, ``tactical``, ``strategic``, ``broker``,
``hotline``, ``ledger``, ``store``, ``formats``, ``web``, ``cli``). Importing it does no work:
heavy modules load only when used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
