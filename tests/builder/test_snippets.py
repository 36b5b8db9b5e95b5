"""The cURL snippet runs in a plain POSIX shell, with or without uuidgen."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from profiles_ui.builder.snippets import REQUEST_ID_SHELL, curl_command

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FAKE_CURL = """#!/bin/sh
for arg in "$@"; do printf 'ARG %s\\n' "$arg"; done
printf 'BODY '; cat
"""


def run_snippet(tmp_path: Path, snippet: str, *, path: str) -> str:
    """The snippet in sh, with a curl that prints what it was given, and only `path`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "curl").write_text(FAKE_CURL)
    (bin_dir / "curl").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{path}", "ALTCRAFT_TOKEN": "t0ken"}
    done = subprocess.run(  # noqa: S603 - a fixed shell and our own snippet
        ["/bin/sh", "-c", snippet], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def only(tmp_path: Path, *tools: str) -> str:
    """A PATH holding just these tools (plus what sh needs here), without uuidgen."""
    tools_dir = tmp_path / "-".join(tools)
    tools_dir.mkdir(exist_ok=True)
    for tool in tools:
        found = sys.executable if tool == "python3" else shutil.which(tool)
        if found:
            os.symlink(found, tools_dir / tool)
    return str(tools_dir)


def test_curl_sends_a_fresh_request_id_without_uuidgen(tmp_path):
    body = b'{"token":"$ALTCRAFT_TOKEN","data":{"_fname":"O`l$ly"}}'
    snippet = curl_command("http://x.example/api/v1.1/profiles/import", body, "json", bearer=False)
    assert "uuidgen" not in snippet.split("||")[0]
    out = run_snippet(tmp_path, snippet, path=only(tmp_path, "cat", "python3"))
    header = next(line for line in out.splitlines() if line.startswith("ARG Request-ID: "))
    assert UUID.fullmatch(header.removeprefix("ARG Request-ID: "))
    assert 'BODY {"token":"t0ken","data":{"_fname":"O`l$ly"}}' in out


def test_the_request_id_falls_back_to_python_where_the_kernel_gives_none(tmp_path):
    expression = REQUEST_ID_SHELL.replace("/proc/sys/kernel/random/uuid", "/nonexistent")
    out = run_snippet(tmp_path, f'echo "$({expression})"', path=only(tmp_path, "cat", "python3"))
    assert UUID.fullmatch(out.strip())
    two = run_snippet(tmp_path, f'echo "$({REQUEST_ID_SHELL})"', path=only(tmp_path, "cat"))
    assert UUID.fullmatch(two.strip()) and two != out
