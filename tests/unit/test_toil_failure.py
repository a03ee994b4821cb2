"""A failed Toil job's step, status and tool log tail, read from the leader's log.

The excerpt is a real toil-cwl-runner 9.6 log (Slurm batch system, bwa given a truncated
FASTQ), shortened: Toil deletes the job's temp dir, so the ``2> align.log`` file the command
line names is gone, and the tool's stderr is only in the leader's echo of it.
"""

from __future__ import annotations

from pathlib import Path

from genoflow.server.engine import describe_engine_failure

T = "[2026-11-26T06:08:45+0000] [MainThread]"
LOG = f"""{T} [I] [toil.leader] Issued job 'CWLJob' analysis.align.align kind-CWLJob/instance-7v v1
{T} [I] [toil.statsAndLogging] analysis.align.align.stderr follows:
=========>
\t[M::process] read 29960 sequences (4494000 bp)...
\t[W::bseq_read] the 1st file has fewer sequences.
\t[gzclose] buffer error
<=========
{T} [W] [toil.leader] Job failed with exit value 1: 'CWLJob' analysis.align.align kind-CWLJob/x v1
{T} [W] [toil.leader] Log from job "kind-CWLJob/instance-7v" follows:
=========>
\t{T} [I] [cwltool] [job analysis.align.align] /w$ bash -c 'bwa ...' 2> /tmp/w/gone/align.log
\t{T} [W] [cwltool] [job analysis.align.align] exited with status: 1
\t{T} [W] [cwltool] [job analysis.align.align] completed permanentFail
\t{T} [E] [toil.worker] Exiting the worker because of a failed job on host vm
<=========
{T} [I] [toil.leader] Finished toil run with 6 failed jobs.
"""


def test_toil_failure_names_the_step_and_the_tools_own_lines(tmp_path: Path) -> None:
    stderr = tmp_path / "engine.stderr"
    stderr.write_text(LOG)
    failure = describe_engine_failure(stderr)
    assert (failure.step, failure.status) == ("analysis.align.align", 1)
    assert failure.log_name == "analysis.align.align.stderr"
    assert failure.tail == [
        "[M::process] read 29960 sequences (4494000 bp)...",
        "[W::bseq_read] the 1st file has fewer sequences.",
        "[gzclose] buffer error",
    ]
    assert "failed in step analysis.align.align (exit status 1)" in failure.describe()


def test_a_named_log_that_is_gone_is_not_quoted_as_the_tools(tmp_path: Path) -> None:
    stderr = tmp_path / "engine.stderr"
    stderr.write_text(
        LOG.split("analysis.align.align.stderr follows")[0] + LOG.split("<=========\n", 1)[1]
    )
    failure = describe_engine_failure(stderr)
    assert failure.step == "analysis.align.align"
    assert failure.log_name is None  # align.log no longer exists: the engine log's tail instead
    assert "last lines of the engine log" in failure.describe()


def _echo(step: str, *lines: str) -> str:
    body = "".join(f"\t{line}\n" for line in lines)
    return f"{T} [I] [toil.statsAndLogging] {step}.stderr follows:\n=========>\n{body}<=========\n"


def _exited(step: str) -> str:
    return f"{T} [W] [toil.leader] Log: [job {step}] exited with status: 1\n"


def test_the_failing_steps_own_echo_not_one_of_a_step_whose_name_ends_the_same(
    tmp_path: Path,
) -> None:
    """``call.stderr follows:`` is inside ``shard_call.stderr follows:``: the later block of
    shard_call must not be quoted as call's."""
    stderr = tmp_path / "engine.stderr"
    stderr.write_text(
        _echo("call", "bcftools: call failed")
        + _exited("call")
        + _echo("shard_call", "shard_call's own line")
    )
    failure = describe_engine_failure(stderr)
    assert failure.step == "call"
    assert failure.log_name == "call.stderr"
    assert failure.tail == ["bcftools: call failed"]


def test_an_echo_without_its_markers_is_not_quoted(tmp_path: Path) -> None:
    """No ``=========>`` after the step's line (a cut log): not the whole rest of the log."""
    stderr = tmp_path / "engine.stderr"
    stderr.write_text(
        f"{T} [I] [toil.statsAndLogging] call.stderr follows:\n"
        + _exited("call")
        + _echo("other", "another step's line")
    )
    failure = describe_engine_failure(stderr)
    assert failure.step == "call"
    assert failure.log_name is None  # the engine log's tail, not call.stderr's
    assert "last lines of the engine log" in failure.describe()
