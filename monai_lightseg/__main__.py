"""``python -m monai_lightseg``."""

import sys

from monai_lightseg.cli import main

if __name__ == "__main__":
    sys.exit(main())
