"""The sync engine's pure core: from manifest texts to an ordered, diffed, health-checked plan.

No I/O here: callers hand in file texts and live objects, and get plain data back.

- ``objects``: ``ObjectRef``, ``Manifest``, ``Source``, ``LoadProblem``, annotation names;
- ``loading``: ``load_manifests(texts)`` (multi-document, ``kind: List``, ignore annotations);
- ``ordering``: ``Stage``, ``stage_of``, ``order_into_stages``, ``prune_order``;
- ``inventory``: ``Inventory`` (what conveyor applied), ``plan_prune``, drift fingerprints;
- ``drift``: ``diff_objects`` -> ``FieldChange``;
- ``health``: ``evaluate_health`` -> ``Health`` (kstatus-like rules);
- ``record``: ``ObjectResult``, ``SyncFailure``, ``SyncMarker`` (the marker kept in the cluster).
"""
