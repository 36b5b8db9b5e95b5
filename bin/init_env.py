"""Create .env from .env.example on first run, with a fresh secret key and demo password."""

import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
target = ROOT / ".env"
if not target.exists():
    text = (ROOT / ".env.example").read_text()
    text = text.replace("SECRET_KEY=change-me", f"SECRET_KEY={secrets.token_urlsafe(50)}")
    text = text.replace("DEMO_PASSWORD=change-me", f"DEMO_PASSWORD={secrets.token_urlsafe(12)}")
    target.write_text(text)
    print("Created .env with a new secret key and demo password.")
