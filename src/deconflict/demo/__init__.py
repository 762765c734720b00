"""The demo's actors that drive a running broker through its HTTP API (``deconflict demo``).

:mod:`deconflict.demo.officers` carries out the simulated duty officers' decisions
(:mod:`deconflict.sim.officer`) with ``httpx``; nothing here touches the database.
"""
