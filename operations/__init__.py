"""Operations tools for a deployed platform (AWS or the local emulator): each a ``python -m operations.<tool>``."""
