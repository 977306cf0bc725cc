"""The rig side of hardware-in-the-loop: serves devices over a wire protocol (later issue)."""

__all__: list[str] = []
