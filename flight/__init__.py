"""satnode flight software: onboard applications and the core that runs them."""

__all__: list[str] = []
