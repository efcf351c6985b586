"""What the chat says when a build ends: the notice of an automatic update, the summary of a
rebuild asked for, and the list of files the last one skipped (F2, /skipped). File names and
reasons are untrusted text: they go through `literal`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from qa.build.watch import describe_skips, describe_update
from qa.tui.literal import literal
from qa.types import BuildReport, Skipped

SKIPPED_KEY = "F2 lists them all, and why."
SKIPPED_SHOWN = 50  # files F2 lists; `qa index` prints every one


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def update_notice(report: BuildReport, new_skips: Sequence[Skipped]
                  ) -> tuple[str | None, Text | None]:
    """An automatic update: the status line's notice ("index updated: +2 articles, 2 skipped
    (F2)"; None when nothing changed and nothing new was skipped) and, when files were newly
    skipped, one line for the conversation naming them."""
    notice = describe_update(report, short=True) if not report.up_to_date else None
    if not new_skips:
        return notice, None
    notice = f"{notice or 'index unchanged'}, {len(new_skips)} skipped (F2)"
    return notice, literal(f"{_sentence(describe_skips(new_skips))}. {SKIPPED_KEY}", "italic")


def rebuild_summary(report: BuildReport) -> tuple[Text, str]:
    """A rebuild the user asked for: the conversation's note and the notification's text."""
    if report.up_to_date:
        summary = f"Index already up to date: {report.articles} articles, {report.chunks} chunks."
    else:
        summary = (f"Rebuilt in {report.seconds:.1f}s: {len(report.added)} added, "
                   f"{len(report.changed)} changed, {len(report.removed)} removed; "
                   f"{report.articles} articles, {report.chunks} chunks.")
    if not report.skipped:
        return literal(summary, "dim"), summary
    n = len(report.skipped)
    note = f"{summary} {_sentence(describe_skips(report.skipped))}. {SKIPPED_KEY}"
    return literal(note, "dim"), f"{summary} Skipped {n} file{'s' if n != 1 else ''} (F2)."


def skipped_list(skipped: Sequence[Skipped] | None) -> RenderableType:
    """Every file the last build skipped, each with why (the first `SKIPPED_SHOWN`)."""
    if skipped is None:
        return Text("No update has run since the chat opened; /rebuild (Ctrl+R) lists the "
                    "files it skips.", style="dim")
    if not skipped:
        return Text("The last update skipped no file: every file in the corpus folder is "
                    "indexed.", style="dim")
    n = len(skipped)
    table = Table.grid(padding=(0, 2))
    table.add_column(overflow="fold", max_width=40)
    table.add_column(overflow="fold")
    for s in skipped[:SKIPPED_SHOWN]:
        table.add_row(literal(s.path, "bold"), literal(s.reason))
    if n > SKIPPED_SHOWN:
        table.add_row(f"and {n - SKIPPED_SHOWN} more", "`qa index` prints every one")
    return Group(Text(f"The last update skipped {n} file{'s' if n != 1 else ''}:"), table)
