"""The ledger commands' text: what a sync, an import or the spool's quarantine did, in words.

Pure: records from :mod:`zuinig.ledger` in, lines out; only the CLI prints them
(the ledger itself words nothing). The renderers behind ``zuinig ledger sync``
and ``zuinig import codecarbon``, and the quarantine line that ``zuinig ledger
sync`` and ``zuinig doctor`` share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zuinig.ledger.importers import ImportResult
    from zuinig.ledger.spool import QuarantinedFile
    from zuinig.ledger.sync import SyncReport

__all__ = ["format_import", "format_quarantined", "format_sync"]


def format_sync(report: SyncReport) -> list[str]:
    """One or two lines saying what :func:`zuinig.ledger.sync.sync_to` did (passwords masked).

    Args:
        report: what :func:`zuinig.ledger.sync.sync_to` returned.

    Returns:
        The lines, without line ends.
    """
    result = report.result
    would = "would be " if result.dry_run else ""
    lines = []
    if report.same_ledger:
        lines.append(
            f"{report.target} is your ledger itself: no runs to copy, only the spool to deliver"
        )
    else:
        parts = [f"{result.copied} {would}copied", f"{result.updated} {would}updated"]
        parts.append(f"{result.unchanged} already there")
        if result.skipped_running:
            parts.append(f"{result.skipped_running} still running here but finished there: kept")
        looked = result.written + result.unchanged + result.skipped_running
        head = "dry run: " if result.dry_run else ""
        line = (
            f"{head}{_plural(looked, 'run')} from {report.source} to {report.target}: "
            + ", ".join(parts)
        )
        if result.sessions or result.trials:
            line += (
                f"; {_plural(result.sessions, 'bench session')} and "
                f"{_plural(result.trials, 'trial')} {would}copied"
            )
        lines.append(line)
    if report.spooled or report.bad_spool_files:
        if result.dry_run:
            spool_line = (
                f"{_plural(report.spooled, 'run')} kept in the local spool would be delivered"
            )
        else:
            spool_line = f"{_plural(report.delivered, 'run')} kept in the local spool delivered"
            waiting = report.spooled - report.delivered - len(report.bad_spool_files)
            if waiting > 0:
                spool_line += f", {waiting} still waiting"
        if report.bad_spool_files:
            spool_line += (
                f"; {_plural(len(report.bad_spool_files), 'spool file')} could not be "
                "delivered and went to quarantine"
            )
        lines.append(spool_line)
    elif report.same_ledger:
        lines.append("nothing was waiting in the local spool")
    if report.quarantined:
        lines.append(format_quarantined(report.quarantined))
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_import(result: ImportResult) -> list[str]:
    """A summary line, then one line per bad row (``file:line: reason``).

    Args:
        result: what :func:`zuinig.ledger.importers.import_codecarbon_csv` returned.

    Returns:
        The lines, without line ends.
    """
    files = f"{result.files} file{'' if result.files == 1 else 's'}"
    line = (
        f"imported {result.imported} run{'' if result.imported == 1 else 's'} from {files}; "
        f"{result.duplicates} duplicate{'' if result.duplicates == 1 else 's'} skipped; "
        f"{len(result.bad_rows)} bad row{'' if len(result.bad_rows) == 1 else 's'}"
    )
    return [line] + [f"{bad.path}:{bad.line}: {bad.reason}" for bad in result.bad_rows]


def format_quarantined(files: Sequence[QuarantinedFile]) -> str:
    """One line on spooled files set aside in quarantine: how many, where, why, what to do.

    Args:
        files: what :func:`zuinig.ledger.spool.quarantined` returned (not empty).

    Returns:
        The line, without a line end.
    """
    folders = sorted({str(item.path.parent) for item in files})
    where = folders[0] if len(folders) == 1 else ", ".join(folders)
    reasons = sorted({item.reason for item in files})
    why = reasons[0] if len(reasons) == 1 else f"{reasons[0]} (and {len(reasons) - 1} more)"
    one = len(files) == 1
    return (
        f"{len(files)} spooled run file{'' if one else 's'} could not be delivered and "
        f"{'is' if one else 'are'} set aside in {where} (why: {why}); "
        "each has a .reason file beside it: fix the file and move it back one folder up "
        "to deliver it, or delete it"
    )
