"""Schemathesis (the `st` command) against a live `pyovn api` and its /openapi.json: example,
coverage, fuzzing and stateful (OpenAPI links) phases with a fixed seed and a bounded number of
examples. No request may end in a 5xx; every response must match the documented status codes,
content type and schema; schema-invalid requests must be rejected. Realistic ids and CIDRs come
from a dictionary of resources created first, so requests reach past the 404s. Afterwards NB
must still match the database exactly (`pyovn api --sync=log` finds nothing to repair)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.api import ApiProcess, SyncClient, run_sync
from tests.support.servers import start_pyovn_server

pytestmark = pytest.mark.skipif(
    shutil.which("st") is None, reason="schemathesis is not installed (pip install schemathesis)"
)
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "allow_header_conformance",
        "use_after_free",
        "ensure_resource_availability",
    ]
)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def write_config(path: Path, c: SyncClient) -> None:
    """Create a few resources and point the generated ids and CIDRs at them."""
    nets = [c.network(f"st-{i}") for i in range(2)]
    subnets = [c.subnet(nets[0]["id"], "10.0.0.0/24"), c.subnet(nets[1]["id"], "10.1.0.0/24")]
    vm = c.port(nets[0]["id"], name="vm")
    kid = c.port(nets[1]["id"], **{"binding:profile": {"parent_name": vm["id"], "tag": 5}})
    ports = [vm["id"], kid["id"], c.port(nets[1]["id"])["id"]]
    net_ids = [n["id"] for n in nets]
    cidrs = ["10.2.0.0/24", "10.3.0.0/28", "192.168.7.0/24", "fd00:1::/64", "10.0.0.128/25"]
    path.write_text(
        f"""
[dictionaries.networks]
values = {_toml_list(net_ids)}
[dictionaries.subnets]
values = {_toml_list([s["id"] for s in subnets])}
[dictionaries.ports]
values = {_toml_list(ports)}
[dictionaries.cidrs]
values = {_toml_list(cidrs)}

[[operations]]
include-path-regex = "^/v2.0/networks/"
parameters = {{ "path.id" = {{ dictionary = "networks", probability = 0.6 }} }}

[[operations]]
include-path-regex = "^/v2.0/subnets/"
parameters = {{ "path.id" = {{ dictionary = "subnets", probability = 0.6 }} }}

[[operations]]
include-path = "/v2.0/subnets"
include-method = "POST"
parameters = {{ "body.subnet.network_id" = {{ dictionary = "networks", probability = 0.8 }}, \
"body.subnet.cidr" = {{ dictionary = "cidrs", probability = 0.7 }} }}

[[operations]]
include-path-regex = "^/v2.0/ports/"
parameters = {{ "path.id" = {{ dictionary = "ports", probability = 0.6 }} }}

[[operations]]
include-path = "/v2.0/ports"
include-method = "POST"
parameters = {{ "body.port.network_id" = {{ dictionary = "networks", probability = 0.8 }} }}
"""
    )


def test_schemathesis_finds_no_server_errors(tmp_path: Path) -> None:
    nb = start_pyovn_server(tmp_path, "nb", "nb")
    db_url = f"sqlite:///{tmp_path / 'api.db'}"
    try:
        with ApiProcess(tmp_path, nb.remote, db_url) as api:
            config = tmp_path / "schemathesis.toml"
            write_config(config, SyncClient(api.url))
            env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
            out = subprocess.run(
                [
                    "st",
                    "--config-file",
                    str(config),
                    "run",
                    f"{api.url}/openapi.json",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    "40",
                    "--seed",
                    "20261129",
                    "--workers",
                    "1",
                    "--max-failures",
                    "20",
                    "--request-timeout",
                    "30",
                    "--report-dir",
                    str(tmp_path / "report"),
                ],
                capture_output=True,
                text=True,
                timeout=900,
                cwd=tmp_path,
                env=env,
            )
            assert out.returncode == 0, out.stdout[-20000:] + out.stderr[-5000:]
            assert "passed" in out.stdout
            assert "Internal Server Error" not in api.stderr()
            assert SyncClient(api.url).request("GET", "/v2.0/ports")[0] == 200
        # everything the fuzzer created, changed and deleted reached NB exactly
        code, report = run_sync(nb.remote, db_url, "log", tmp_path)
        assert code == 0 and "found 0 difference(s)" in report, report
    finally:
        nb.kill(signal.SIGTERM)
