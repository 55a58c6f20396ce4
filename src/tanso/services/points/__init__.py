"""Behaviour-change points programmes (行動変容ポイント, docs/points.md).

``programmes``: registration, methodology versions, the programme's and members' views.
``ingest``: batches of members' events through the databases' bulk paths, and their
verification. ``pools``: pledges, pooled retirements with their Merkle roots and proofs,
members' own retirements, and credits issued from verified reductions.
"""
