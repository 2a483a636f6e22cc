"""The checkpointer: signs Merkle checkpoints of the event store (docs/audit.md)."""
