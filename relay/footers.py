"""Admin footer templates named by the policy (``footer_template``), read from disk.

The rewriters take the template *text* in ``RewriteContext.footer_text`` because they do no
I/O; the relay reads the file here, relative to the policy file's folder, and re-reads it only
when its modification time changes. A missing or unreadable template falls back to the shipped
footer (logged), so a typo in a template path never stops mail.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("consent_relay.relay")

MAX_TEMPLATE_BYTES = 16_384


class FooterTemplates:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self._cache: dict[Path, tuple[float, str]] = {}

    def text(self, name: str) -> str | None:
        path = Path(name) if Path(name).is_absolute() else self.base_dir / name
        try:
            mtime = path.stat().st_mtime
            cached = self._cache.get(path)
            if cached is not None and cached[0] == mtime:
                return cached[1]
            data = path.read_bytes()[:MAX_TEMPLATE_BYTES].decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("footer_template_unreadable", extra={"path": str(path), "error": str(exc)})
            return None
        self._cache[path] = (mtime, data)
        return data
