"""tepat: keep Indonesia's district-court (PN) servers on time, so SIPP appeals sync."""
from pathlib import Path

__version__ = "0.1.0"

# The project checkout: the inventories, deploy.py and tests/compliance live beside the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
