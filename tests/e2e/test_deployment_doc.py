"""docs/deployment.md shows exactly the Postfix configuration the end-to-end tests run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from postfix import RECIPE_MAIN_CF, RECIPE_RELAYHOST_MAIN_CF, recipe_master_cf

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def _tested_block(label: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- tested: {re.escape(label)} [^>]*-->\n```\n(.*?)```", text, re.S)
    assert match, f"no tested {label} block in {DOC}"
    return match.group(1)


def test_deployment_doc_main_cf_is_the_tested_recipe() -> None:
    assert _tested_block("main.cf") == RECIPE_MAIN_CF


def test_deployment_doc_relayhost_variant_is_the_tested_recipe() -> None:
    assert _tested_block("relayhost main.cf") == RECIPE_RELAYHOST_MAIN_CF


def test_deployment_doc_master_cf_is_the_tested_recipe() -> None:
    assert _tested_block("master.cf") == recipe_master_cf(10025, "127.0.0.1:10026")


def test_systemd_unit_reloads_with_sighup_and_drops_every_capability() -> None:
    unit = (DOC.parents[1] / "deploy" / "consent-relay.service").read_text()
    for line in ("ExecReload=/bin/kill -HUP $MAINPID", "CapabilityBoundingSet=\n",
                 "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes"):
        assert line in unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_unit_passes_systemd_analyze_verify() -> None:
    script = DOC.parents[1] / "deploy" / "verify-unit.sh"
    env = {**os.environ, "CONSENT_RELAY_BIN": str(Path(sys.executable).parent / "consent-relay")}
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stderr  # any systemd complaint fails the test
