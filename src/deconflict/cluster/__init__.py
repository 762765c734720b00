"""Adapters that spread work over a cluster (Ray): tile-sharded tactical detection.

``deconflict.cluster.ray_detect`` runs ``deconflict.tactical.sharded`` tiles as Ray tasks;
``choose_engine`` decides per detection cycle whether to use it (``DECONFLICT_DETECT_ENGINE``,
``DECONFLICT_RAY_THRESHOLD``).
"""
