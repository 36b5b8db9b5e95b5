"""Where the documented Altcraft payloads are: `shared/` beside the repository, as CI has it."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "altcraft-examples"
