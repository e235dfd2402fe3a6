"""The demo model: SmolLM2-135M fetched, checked and converted for MLX."""
