"""The page: building the static site and serving it (Starlette)."""
