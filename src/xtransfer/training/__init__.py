"""Training: model assembly, batching, the loop on accelerate, checkpoints."""
