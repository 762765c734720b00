"""Running the broker as several processes: replicas on one PostgreSQL database and Ray.

``deconflict.cluster.lease`` (the leader lease: a session advisory lock), ``.notify``
(cross-replica wake-ups with ``LISTEN/NOTIFY``), ``.watchdog`` (a leader whose cycle hangs gives
the lease up), and ``deconflict.cluster.ray_detect`` (``deconflict.tactical.sharded`` tiles as
Ray tasks; ``choose_engine`` decides per detection cycle whether to use it:
``DECONFLICT_DETECT_ENGINE``, ``DECONFLICT_RAY_THRESHOLD``).
"""
