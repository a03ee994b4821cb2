"""The server's ``toil:`` settings become toil-cwl-runner arguments and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from genoflow.errors import ConfigError
from genoflow.pipelines import engine_command
from genoflow.server.batch import job_store, toil_args, toil_environment
from genoflow.server.config import ToilConfig, load_server_config


def _last(command: list[str], flag: str) -> str:
    """The value argparse keeps: the last ``flag VALUE`` or ``flag=VALUE``."""
    positions = [i for i, arg in enumerate(command) if arg == flag or arg.startswith(f"{flag}=")]
    assert positions, flag
    last = command[positions[-1]]
    return last.split("=", 1)[1] if "=" in last else command[positions[-1] + 1]


def test_defaults_give_single_machine_and_nothing_else() -> None:
    assert toil_args(ToilConfig(), Path("/w/7")) == ["--batchSystem", "single_machine"]


def test_slurm_settings_become_arguments_that_win(tmp_path: Path) -> None:
    config = ToilConfig.model_validate(
        {
            "batch_system": "slurm",
            "job_store_dir": str(tmp_path / "stores"),
            "work_dir": "/scratch/toil",
            "default_memory": "2Gi",
            "max_cores": 8,
            "slurm_time": "12:00:00",
            "slurm_args": "--partition=genomics --qos=normal",
            "state_polling_wait": 2,
            "caching": False,
            "args": ["--retryCount=2"],
        }
    )
    workdir = tmp_path / "work" / "7"
    args = toil_args(config, workdir)
    command = engine_command(
        "toil", "p.cwl#analysis", Path("job.json"), Path("out"), workdir, args, executable="toil"
    )
    assert _last(command, "--batchSystem") == "slurm"
    assert _last(command, "--jobStore") == str(tmp_path / "stores" / "7")
    assert _last(command, "--workDir") == "/scratch/toil"
    assert "--slurmArgs=--partition=genomics --qos=normal" in command  # one argument
    for flag, value in [
        ("--defaultMemory", "2Gi"),
        ("--maxCores", "8"),
        ("--slurmTime", "12:00:00"),
        ("--statePollingWait", "2"),
        ("--caching", "false"),
    ]:
        assert _last(command, flag) == value
    assert args[-1] == "--retryCount=2"  # the free-form args come last
    assert command[-2:] == ["p.cwl#analysis", "job.json"]


def test_job_store_defaults_to_the_run_work_dir(tmp_path: Path) -> None:
    assert job_store(ToilConfig(), tmp_path / "3") == tmp_path / "3" / "jobstore"


def test_environment_is_added_to_the_engine_environment() -> None:
    config = ToilConfig(environment={"SLURM_CONF": "/etc/slurm/x.conf"})
    env = toil_environment(config, {"PATH": "/bin", "SLURM_CONF": "/old"})
    assert env == {"PATH": "/bin", "SLURM_CONF": "/etc/slurm/x.conf"}


def test_bad_toil_settings_name_their_key(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("toil:\n  state_polling_wait: 0.5\n")
    with pytest.raises(ConfigError, match=r"toil\.state_polling_wait"):
        load_server_config(path, {})
    path.write_text("toil:\n  slurm_partition: x\n")
    with pytest.raises(ConfigError, match=r"toil\.slurm_partition"):
        load_server_config(path, {})


def test_shards_are_planned_from_the_cluster_cores_under_toil(tmp_path: Path) -> None:
    from genoflow.pipelines.job import plan_shards
    from genoflow.server.batch import sharding
    from genoflow.server.config import ServerConfig

    toil = ServerConfig.model_validate({"engine": "toil", "toil": {"cores": 32}})
    assert sharding(toil).cores == 32
    assert sharding(ServerConfig.model_validate({"toil": {"cores": 32}})).cores is None  # cwltool
    fai = tmp_path / "ref.fa.fai"
    fai.write_text("chr1\t180000\t6\t60\t61\nchr2\t120000\t183012\t60\t61\n")
    plan = plan_shards(
        sharding(toil),
        input_bytes=4_000_000_000,
        threads=2,
        fai=fai,
        fastq=True,
        caller="bcftools",
        gvcf=False,
    )
    assert len(plan["call_regions"]) == 32  # not this machine's cores


def test_the_slurm_deploy_example_is_a_valid_server_config() -> None:
    root = Path(__file__).resolve().parents[2]
    config = load_server_config(root / "deploy" / "slurm" / "server.yaml", {})
    assert config.engine == "toil" and config.toil.batch_system == "slurm"
    assert "--slurmArgs=--partition=genomics" in toil_args(config.toil, Path("/w/1"))
