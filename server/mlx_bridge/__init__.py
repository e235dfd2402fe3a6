"""The MLX bridge: an OpenAI-compatible server backed by mlx-lm."""
