"""LoRA training with TRL: DPO and SFT adapters, curve runs with checkpoints, online DPO."""
