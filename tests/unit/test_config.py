"""Configuration: layering, sources, msgen config.txt, validation messages (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genoflow.config import load_settings
from genoflow.config.loader import find_config_file
from genoflow.errors import ConfigError, ExitCode
from tests.harness import ROOT

MSGEN_CONFIG = """\
# Microsoft Genomics configuration, as downloaded from the portal
api_url_base: https://eastus2.microsoftgenomics.net
access_key: 0123456789abcdef0123456789abcdef
process_name: gatk4
process_args: R=hg38m1
input_storage_account_name: mylabstorage
input_storage_account_key: c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5
input_storage_account_container: fastq-in
output_storage_account_name: mylabresults
output_storage_account_key: b3V0cHV0a2V5b3V0cHV0a2V5b3V0cHV0a2V5b3V0cHV0
output_storage_account_container: results
output_filename_base: NA12878/run1
output_overwrite: true
output_include_logfiles: false
sas_duration: 72
bqsr_enabled: false
read_group: @RG\\tID:run1\\tSM:NA12878
emit_ref_confidence: GVCF
bgzip_output: true
description: NA12878 30x
poll: true
input_blob_name_1: a_1.fq.gz b_1.fq.gz
input_blob_name_2: a_2.fq.gz b_2.fq.gz
# empty values mean "use the default"
workflow_id:
"""

EQUIVALENT_YAML = """\
service:
  protocol: msgenomics
  url: https://eastus2.microsoftgenomics.net
  api_key: 0123456789abcdef0123456789abcdef
storage:
  account_name: mylabstorage
  account_key: c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5
  input_container: fastq-in
  output_account_name: mylabresults
  output_account_key: b3V0cHV0a2V5b3V0cHV0a2V5b3V0cHV0a2V5b3V0cHV0
  output_container: results
workflow:
  process: gatk4
  process_args: R=hg38m1
  output_filename_base: NA12878/run1
  output_overwrite: true
  output_include_logs: false
  sas_duration_hours: 72
  bqsr: false
  read_group: '@RG\\tID:run1\\tSM:NA12878'
  emit_ref_confidence: gvcf
  bgzip_output: true
  description: NA12878 30x
  poll: true
  input_blob_name_1: [a_1.fq.gz, b_1.fq.gz]
  input_blob_name_2: [a_2.fq.gz, b_2.fq.gz]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_without_any_file(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.file is None or settings.file.name == "config.yaml"
    assert settings.config.storage.input_container == "inputs"
    assert settings.config.workflow.sas_duration_hours == 48
    assert settings.source_of("storage.input_container") == "default"


def test_msgen_config_txt_equals_yaml(tmp_path: Path) -> None:
    msgen = load_settings(_write(tmp_path, "config.txt", MSGEN_CONFIG), environ={})
    yaml_ = load_settings(_write(tmp_path, "genoflow.yaml", EQUIVALENT_YAML), environ={})
    assert msgen.config == yaml_.config
    assert msgen.config.workflow.input_blob_name_2 == ["a_2.fq.gz", "b_2.fq.gz"]
    assert msgen.config.workflow.read_group == r"@RG\tID:run1\tSM:NA12878"
    assert msgen.source_of("storage.input_container").endswith("config.txt")


def test_msgen_unknown_key_is_named_with_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "config.txt", "api_url_base: https://x.example\nprocess_nam: gatk4\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert "config.txt:2" in info.value.one_line()
    assert "process_name" in info.value.one_line()


def test_precedence_flags_env_file_azure_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "g.yaml",
        "storage:\n  account_name: fromfile\n  max_concurrency: 3\nservice:\n  timeout: 11\n",
    )
    environ = {
        "GENOFLOW_STORAGE__MAX_CONCURRENCY": "5",
        "GENOFLOW_SERVICE__TIMEOUT": "12",
        "AZURE_STORAGE_ACCOUNT": "fromazure",
    }
    settings = load_settings(
        path, environ=environ, overrides={"service.timeout": (13.0, "flag --timeout")}
    )
    assert settings.config.storage.account_name == "fromfile"  # file names the account
    assert settings.config.storage.max_concurrency == 5
    assert settings.source_of("storage.max_concurrency") == "env GENOFLOW_STORAGE__MAX_CONCURRENCY"
    assert settings.config.service.timeout == 13.0
    assert settings.source_of("service.timeout") == "flag --timeout"


def test_azure_variables_apply_as_group_when_nothing_names_an_account(tmp_path: Path) -> None:
    environ = {
        "AZURE_STORAGE_ACCOUNT": "azacct",
        "AZURE_STORAGE_KEY": "a2V5a2V5a2V5a2V5",
        "AZURE_STORAGE_BLOB_ENDPOINT": "http://127.0.0.1:10000/azacct",
    }
    settings = load_settings(environ=environ, cwd=tmp_path)
    assert settings.config.storage.account_name == "azacct"
    assert settings.config.storage.account_url == "http://127.0.0.1:10000/azacct"
    assert settings.source_of("storage.account_key") == "env AZURE_STORAGE_KEY"
    named = load_settings(
        environ={**environ, "GENOFLOW_STORAGE__ACCOUNT_NAME": "mine"}, cwd=tmp_path
    )
    assert named.config.storage.account_name == "mine"
    assert named.config.storage.account_key is None


def test_env_list_values_are_split(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"GENOFLOW_WORKFLOW__INPUT_BLOB_NAME_1": "a.fq.gz,b.fq.gz"}, cwd=tmp_path
    )
    assert settings.config.workflow.input_blob_name_1 == ["a.fq.gz", "b.fq.gz"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "storage:\n  input_container: Bad_Name\n",
            "storage.input_container: must be 3-63 lowercase letters, digits or hyphens",
        ),
        (
            "storage:\n  acount_key: x\n",
            "storage.acount_key: unknown key in 'storage': did you mean 'account_key'?",
        ),
        ("bogus: 1\n", "bogus: unknown key in the top level"),
        (
            "storage:\n  max_concurrency: many\n",
            "storage.max_concurrency: must be a whole number (got 'many')",
        ),
        ("workflow:\n  bqsr: maybe\n", "workflow.bqsr: must be true or false"),
        ("workflow:\n  emit_ref_confidence: bp\n", "workflow.emit_ref_confidence: must be one of"),
        ("service:\n  url: ftp://x\n", "service.url: must be an http:// or https:// URL"),
        ("workflow:\n  read_group: 'ID:x'\n", "workflow.read_group: must start with @RG"),
        ("storage: [1, 2\n", "malformed YAML"),
        ("- just\n- a list\n", "the top level must be a mapping"),
    ],
)
def test_validation_errors_name_file_key_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, "genoflow.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    line = info.value.one_line()
    assert expected in line
    assert str(path) in line
    assert "\n" not in line
    assert info.value.exit_code == ExitCode.USAGE


def test_env_error_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"GENOFLOW_STORAGE__MAX_CONCURRENCY": "0"}, cwd=tmp_path)
    assert "env GENOFLOW_STORAGE__MAX_CONCURRENCY: storage.max_concurrency" in info.value.one_line()


def test_secret_values_never_echoed_in_type_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.yaml", "storage:\n  account_key: [notastring12345]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert "notastring12345" not in info.value.one_line()


def test_missing_required_value_says_where_to_set_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "genoflow.yaml", "service:\n  protocol: wes\n")
    settings = load_settings(path, environ={})
    with pytest.raises(ConfigError) as info:
        settings.require("service.url", flag="--api-url-base")
    line = info.value.one_line()
    assert "service.url is required" in line
    assert str(path) in line
    assert "GENOFLOW_SERVICE__URL" in line and "--api-url-base" in line


def test_two_credentials_are_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "g.yaml", "storage:\n  account_name: abc\n  account_key: a2V5a2V5a2V5\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={"GENOFLOW_STORAGE__SAS_TOKEN": "sv=2024&sig=abcdefgh"})
    assert "more than one credential" in info.value.one_line()
    assert "abcdefgh" not in info.value.one_line()


def test_config_file_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("genoflow.config.loader.user_config_path", lambda: tmp_path / "user.yaml")
    assert find_config_file(None, {}, tmp_path) is None
    (tmp_path / "user.yaml").write_text("{}")
    assert find_config_file(None, {}, tmp_path) == tmp_path / "user.yaml"
    (tmp_path / "genoflow.yaml").write_text("{}")
    assert find_config_file(None, {}, tmp_path) == tmp_path / "genoflow.yaml"
    env_file = _write(tmp_path, "env.yaml", "{}")
    assert find_config_file(None, {"GENOFLOW_CONFIG": str(env_file)}, tmp_path) == env_file
    explicit = _write(tmp_path, "explicit.yaml", "{}")
    assert find_config_file(explicit, {"GENOFLOW_CONFIG": str(env_file)}, tmp_path) == explicit
    with pytest.raises(ConfigError, match="does not exist"):
        find_config_file(tmp_path / "nope.yaml", {}, tmp_path)


def test_example_config_is_valid_and_matches_packaged_copy() -> None:
    example = ROOT / "config.example.yaml"
    packaged = ROOT / "src" / "genoflow" / "config" / "example.yaml"
    assert example.read_text() == packaged.read_text()
    settings = load_settings(example, environ={})
    assert settings.config.service.protocol.value == "msgenomics"
    assert _undocumented_keys(example.read_text()) == []
    assert _undocumented_keys("service:\n  # doc\n  a: 1\n\n  b: 2\n") == ["b"]


def _undocumented_keys(text: str) -> list[str]:
    """Keys with neither an inline comment nor a comment opening their block."""
    undocumented = []
    block_documented = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or not line.startswith(" "):
            block_documented = False  # a blank line or a section header ends a block
        elif stripped.startswith("#"):
            block_documented = True
        elif "#" not in line and not block_documented and not stripped.endswith(":"):
            undocumented.append(stripped.split(":", 1)[0])
        elif "#" not in line and not block_documented and stripped.endswith(":"):
            undocumented.append(stripped[:-1])
    return undocumented
