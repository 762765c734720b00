"""Private deconfliction: find plan conflicts without anyone, the broker included, seeing plans.

* :mod:`deconflict.private.cells` -- volumes -> conservative 4D cells (pure);
* :mod:`deconflict.private.psi` -- Diffie-Hellman PSI, padding, commitments (pure);
* :mod:`deconflict.private.reveal` -- clipped, sealed reveals and the exact check (pure);
* :mod:`deconflict.private.client` -- the party's client (state directory, relay over HTTP).

See ``docs/private.md`` and the "Private mode" section of ``docs/security.md``.
"""
