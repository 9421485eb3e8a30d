"""Tasks of the monai_lightseg MONAI Label app (one idea per module)."""
