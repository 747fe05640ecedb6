"""examples/fleet/template.yaml: valid for cfn-lint, and wired to the library as docs/fleet.md
says (the handler exists, partial batch responses on, least-privilege producers)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

cfnlint_api = pytest.importorskip("cfnlint.api")
yaml = pytest.importorskip("yaml")

TEMPLATE = Path(__file__).resolve().parents[1] / "examples" / "fleet" / "template.yaml"


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix}")


def template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_Loader)
    return data


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    assert [str(match) for match in cfnlint_api.lint_file(TEMPLATE)] == []


def test_cfn_lint_does_report_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    # a function below Lambda's 128 MB minimum
    broken.write_text(TEMPLATE.read_text().replace("MemorySize: 512", "MemorySize: 64"))
    assert cfnlint_api.lint_file(broken) != []


def test_the_function_runs_the_librarys_handler_with_partial_batch_responses() -> None:
    function = template()["Resources"]["DeliveryFunction"]["Properties"]
    module, name = function["Handler"].rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
    stream = function["Events"]["Stream"]["Properties"]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "PERSONALIZE_TRACKING_ID" in function["Environment"]["Variables"]


def test_producers_may_only_write_to_the_stream() -> None:
    policy = template()["Resources"]["ProducerPolicy"]["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert sorted(statement["Action"]) == ["kinesis:PutRecord", "kinesis:PutRecords"]
    assert statement["Resource"] == "!GetAtt"
