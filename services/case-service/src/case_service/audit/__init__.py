"""The record that proves itself: hash chain, Merkle checkpoints, verification (docs/audit.md)."""
