"""The ``personalize-tracker`` command line (click). Needs the ``cli`` extra: click and tqdm.

Commands:

- ``personalize-tracker demo``: replay the MovieLens ratings through a Tracker into a local
  PutEvents endpoint (or another endpoint) and check that every event arrived exactly once.
- ``personalize-tracker resend FILE``: send the events of a dead-letter file again.
- ``personalize-tracker replay FILE``: send an Interactions CSV or JSON Lines file through
  PutEvents, with sessions, a progress bar and a summary.
- ``personalize-tracker export FILE...``: write JSON Lines events (dead letters, recordings) as an
  Interactions CSV for a dataset import job.
- ``personalize-tracker serve``: run the local testing endpoint on 127.0.0.1.
- ``personalize-tracker --version``: print the version.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .__main__ import MISSING_EXTRA_MESSAGE
from ._demo import (
    DEFAULT_DATA_PATH,
    DEFAULT_LOCAL_TRACKING_ID,
    DEFAULT_REGION,
    DEFAULT_SESSION_GAP_MINUTES,
    MovieLensFormatError,
    run_demo,
    summary_dict,
    summary_text,
)
from ._errors import InvalidEventError
from ._event import Event

if TYPE_CHECKING:
    from .testing import RecordedEvent

__all__ = ["cli", "demo", "export", "replay", "resend", "serve"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="personalize-tracker")
def cli() -> None:
    """Batched, retried, accounted-for event delivery to Amazon Personalize PutEvents."""


@cli.command()
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        f"MovieLens ratings.csv to replay (userId,movieId,rating,timestamp). Default: "
        f"{DEFAULT_DATA_PATH.as_posix()} in the current directory, else in the repository "
        f"this package was installed from."
    ),
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Replay only the first N rows of the file.",
)
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help=(
        "Send to this PutEvents endpoint instead of starting a local one, using the default AWS "
        "credential chain (for Amazon Personalize itself: "
        "https://personalize-events.<region>.amazonaws.com). Needs --tracking-id. The check of "
        "what the endpoint received is then skipped."
    ),
)
@click.option(
    "--tracking-id",
    default=None,
    help=(
        f"The event tracker's tracking id. Required with --endpoint-url; locally "
        f"'{DEFAULT_LOCAL_TRACKING_ID}'."
    ),
)
@click.option(
    "--region", default=DEFAULT_REGION, show_default=True, help="AWS region of the client."
)
@click.option(
    "--session-gap",
    type=click.FloatRange(min=0),
    default=DEFAULT_SESSION_GAP_MINUTES,
    show_default=True,
    metavar="MINUTES",
    help="A user's ratings further apart than this many minutes are in different sessions.",
)
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar (stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_context
def demo(
    ctx: click.Context,
    data: Path | None,
    limit: int | None,
    endpoint_url: str | None,
    tracking_id: str | None,
    region: str,
    session_gap: float,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Replay the MovieLens ratings through a Tracker and check every event arrived.

    Each rating becomes a 'rating' event: userId -> user_id, movieId -> item_id, rating ->
    event_value, timestamp -> sent_at, in sessions ml-<userId>-<n> cut at --session-gap minutes
    of silence. By default a local PutEvents endpoint is started on 127.0.0.1, and the events it
    received are compared with the events tracked (ids, no duplicates, fields). Prints a summary;
    exits 1 when an event was dropped, failed, went missing or arrived twice.
    """
    if endpoint_url is not None and not tracking_id:
        raise click.UsageError("--tracking-id is required with --endpoint-url")
    try:
        result = run_demo(
            data,
            limit=limit,
            endpoint_url=endpoint_url,
            tracking_id=tracking_id,
            region=region,
            session_gap_minutes=session_gap,
            progress=not no_progress,
        )
    except FileNotFoundError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--data'") from None
    except (MovieLensFormatError, InvalidEventError) as exc:
        raise click.ClickException(str(exc)) from None
    except ImportError as exc:
        if exc.name == "tqdm":
            raise click.ClickException(MISSING_EXTRA_MESSAGE) from None
        raise click.ClickException(
            f"the local endpoint needs the 'testing' extra ({exc}): "
            "pip install 'personalize-tracker[testing]', or pass --endpoint-url"
        ) from None
    if as_json:
        click.echo(json.dumps(summary_dict(result), indent=2))
    else:
        click.echo(summary_text(result))
    ctx.exit(0 if result.passed else 1)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tracking-id",
    default=None,
    help="Send to this event tracker. Default: the trackingId written in the file's lines.",
)
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help="PutEvents endpoint (default: the region's Amazon Personalize endpoint).",
)
@click.option("--region", default=None, help="AWS region (default: from the AWS configuration).")
@click.option(
    "--include-invalid",
    is_flag=True,
    help="Also resend events the service rejected as invalid (they are skipped by default).",
)
@click.option(
    "--dead-letters",
    "dead_letters",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where events that fail again are written. Default: FILE with '.retry.jsonl' added.",
)
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar (stderr).")
@click.pass_context
def resend(
    ctx: click.Context,
    file: Path,
    tracking_id: str | None,
    endpoint_url: str | None,
    region: str | None,
    include_invalid: bool,
    dead_letters: Path | None,
    no_progress: bool,
) -> None:
    """Send the events of a dead-letter FILE again, through PutEvents.

    FILE is a JSON Lines file written by Tracker(dead_letter_path=...). Events keep their event
    ids, so an event that did reach Personalize before is ignored in training. Uses the default
    AWS credential chain. Prints a summary; exits 1 when an event fails again or a line cannot
    be read.
    """
    from tqdm import tqdm

    from ._resend import dead_letter_tracking_ids, resend_dead_letters
    from .tracker import Tracker

    if tracking_id is None:
        found = dead_letter_tracking_ids(file)
        if len(found) != 1:
            names = ", ".join(sorted(found)) or "none"
            raise click.UsageError(
                f"the file names {len(found)} tracking ids ({names}): pass --tracking-id"
            )
        (tracking_id,) = found
    retry_path = dead_letters or file.with_name(file.name + ".retry.jsonl")
    with file.open(encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip())
    try:
        tracker = Tracker(
            tracking_id,
            region_name=region,
            endpoint_url=endpoint_url,
            dead_letter_path=retry_path,
            overflow="block",
            block_timeout=60.0,
            on_failure=lambda failed: None,  # they are in the retry file; the summary counts them
        )
    except ValueError as exc:  # no region: say how to give one
        raise click.UsageError(f"{exc} (--region)") from None
    with tqdm(
        total=total, unit="event", file=sys.stderr, disable=True if no_progress else None
    ) as bar:
        try:
            summary = resend_dead_letters(
                file, tracker, include_invalid=include_invalid, on_event=bar.update
            )
        finally:
            tracker.close()
    stats = tracker.stats()
    lines = [
        f"personalize-tracker resend: {file}",
        f"  tracking id      {tracking_id}",
        f"  lines read       {summary.read:,}",
        f"  resent           {summary.resent:,}",
        f"  delivered        {stats.delivered:,}",
        f"  failed again     {stats.failed + stats.dropped:,}"
        + (f" (written to {retry_path})" if stats.failed + stats.dropped else ""),
        f"  skipped invalid  {summary.skipped_invalid:,}"
        + ("" if include_invalid or not summary.skipped_invalid else " (--include-invalid)"),
        f"  unreadable lines {len(summary.bad_lines):,}",
    ]
    for bad in summary.bad_lines[:5]:
        lines.append(f"    line {bad.line}: {bad.problem}")
    ok = stats.failed + stats.dropped == 0 and not summary.bad_lines
    lines.append("PASS: every resent event was delivered" if ok else "FAIL: see above")
    click.echo("\n".join(lines))
    ctx.exit(0 if ok else 1)


# --------------------------------------------------------------------------------------------
# replay, export, serve: bulk data and the local endpoint (docs/command-line.md)

#: Default port of ``personalize-tracker serve`` (0 picks a free one).
DEFAULT_SERVE_PORT = 8765
# Seconds serve keeps answering after --exit-after-events or --max-seconds is reached.
_SERVE_EXIT_GRACE = 0.5


@cli.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="The file's format. Default: from the extension (.csv; .jsonl, .ndjson, .json).",
)
@click.option("--tracking-id", required=True, help="The event tracker's tracking id.")
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help="PutEvents endpoint (default: the region's Amazon Personalize endpoint), e.g. the URL "
    "printed by 'personalize-tracker serve'.",
)
@click.option("--region", default=None, help="AWS region (default: from the AWS configuration).")
@click.option(
    "--event-type",
    default=None,
    help="Event type of rows without one (a CSV without EVENT_TYPE needs it).",
)
@click.option(
    "--session-gap",
    type=click.FloatRange(min=0),
    default=DEFAULT_SESSION_GAP_MINUTES,
    show_default=True,
    metavar="MINUTES",
    help="A user's rows further apart than this many minutes are in different sessions "
    "(rows with a sessionId keep it).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Replay N rows at most."
)
@click.option(
    "--dead-letters",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append events that fail to this JSON Lines file (for 'personalize-tracker resend').",
)
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar (stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_context
def replay(
    ctx: click.Context,
    file: Path,
    file_format: str | None,
    tracking_id: str,
    endpoint_url: str | None,
    region: str | None,
    event_type: str | None,
    session_gap: float,
    limit: int | None,
    dead_letters: Path | None,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Send the interactions of a bulk FILE through PutEvents.

    FILE is an Interactions CSV, as for a dataset import job (USER_ID, ITEM_ID, TIMESTAMP in
    epoch seconds, and optionally EVENT_TYPE, EVENT_VALUE, IMPRESSION with '|' between ids,
    RECOMMENDATION_ID; any other column is contextual metadata, sent as a camelCase property),
    or JSON Lines of events (dead letters, 'serve --record' recordings, or objects with the
    PutEvents field names). Rows without a sessionId are cut into sessions per user at
    --session-gap minutes of silence. Bad rows are reported with their line numbers and
    skipped. Uses the default AWS credential chain. Prints a summary; exits 1 when a row was
    bad or an event failed.
    """
    from ._bulk import (
        BulkFormatError,
        FieldMapping,
        count_lines,
        detect_format,
        read_interactions_csv,
        read_json_lines,
    )
    from ._demo import _FailureLog
    from ._replay import replay_rows
    from .tracker import Tracker

    try:
        kind = detect_format(file, file_format)
        if kind == "csv":
            with file.open(newline="", encoding="utf-8-sig") as stream:
                header = next(csv.reader(stream), [])
            if event_type is None and not any(
                name.strip().upper().replace("_", "") == "EVENTTYPE" for name in header
            ):
                raise click.UsageError(
                    f"{file} has no EVENT_TYPE column: pass --event-type for its rows"
                )
            rows = read_interactions_csv(file, limit=limit)
            # A CSV's other columns are context; JSON Lines carry theirs in "properties".
            fields = FieldMapping(None, event_type=event_type)
        else:
            rows = read_json_lines(file, limit=limit)
            fields = FieldMapping({"context": ()}, event_type=event_type)
        total = count_lines(file, header=kind == "csv", limit=limit)
        failures = _FailureLog()
        try:
            tracker = Tracker(
                tracking_id,
                region_name=region,
                endpoint_url=endpoint_url,
                dead_letter_path=dead_letters,
                overflow="block",
                block_timeout=60.0,
                on_failure=failures,
            )
        except ValueError as exc:  # no region: say how to give one
            raise click.UsageError(f"{exc} (--region)") from None
        try:
            summary = replay_rows(
                tracker,
                rows,
                fields,
                session_gap_minutes=session_gap,
                progress=not no_progress,
                total=total,
                located=True,
                progress_file=sys.stderr,
            )
        finally:
            tracker.close(timeout=10.0)
    except BulkFormatError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if as_json:
        data = {
            "file": str(file),
            "format": kind,
            "tracking_id": tracking_id,
            "endpoint_url": endpoint_url,
            "dead_letters": None if dead_letters is None else str(dead_letters),
            **summary.to_dict(),
            "failures": [
                {
                    "event_id": f.event.event_id,
                    "reason": f.reason.value,
                    "error_code": f.error_code,
                    "message": f.message,
                }
                for f in failures.samples
            ],
        }
        click.echo(json.dumps(data, indent=2))
    else:
        lines = [f"personalize-tracker replay: {file} ({kind}) -> tracking id {tracking_id}"]
        lines.append(str(summary))
        lines.extend(
            f"    failure: event {f.event.event_id}: {f.reason.value} ({f.error_code}: {f.message})"
            for f in failures.samples
        )
        if dead_letters is not None and (summary.failed or summary.dropped):
            lines.append(f"Failed events were appended to {dead_letters}")
        click.echo("\n".join(lines))
    ctx.exit(0 if summary.ok else 1)


@cli.command("export")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=Path("-"),
    show_default=True,
    help="The CSV file to write; '-' is stdout.",
)
@click.option(
    "--exclude-invalid",
    is_flag=True,
    help="Leave out dead letters the service rejected as invalid.",
)
@click.option(
    "--all-columns",
    is_flag=True,
    help="Write every Interactions column, even one no event has a value for "
    "(default: EVENT_VALUE, IMPRESSION and RECOMMENDATION_ID only when used).",
)
@click.pass_context
def export(
    ctx: click.Context,
    files: tuple[Path, ...],
    output: Path,
    exclude_invalid: bool,
    all_columns: bool,
) -> None:
    """Write the events of JSON Lines FILES as an Interactions CSV for a dataset import job.

    FILES hold dead letters (Tracker(dead_letter_path=...)) or event dicts with the PutEvents
    field names plus sessionId and userId ('serve --record' recordings, the spool). The CSV has
    the columns USER_ID, ITEM_ID, TIMESTAMP (whole epoch seconds), EVENT_TYPE, then EVENT_VALUE,
    IMPRESSION ('|' between ids) and RECOMMENDATION_ID when used, then each property as an
    UPPER_SNAKE context column (deviceType -> DEVICE_TYPE). Lines that cannot be exported (no
    userId, torn JSON) are reported on stderr with their line numbers; exits 1 if there were any.
    """
    from ._bulk import (
        INTERACTIONS_COLUMNS,
        ExportLine,
        read_export_events,
        write_interactions_csv,
    )

    def usable(path: Path) -> Iterator[ExportLine | tuple[int, str]]:
        for item in read_export_events(path):
            if isinstance(item, ExportLine) and exclude_invalid and item.reason == "invalid":
                continue
            yield item

    # First pass: the columns (the header comes first), and the problems.
    context: dict[str, None] = {}
    used = {"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"}
    problems: list[str] = []
    count = 0
    try:
        for path in files:
            for item in usable(path):
                if not isinstance(item, ExportLine):
                    problems.append(f"{path}:{item[0]}: {item[1]}")
                    continue
                count += 1
                event = item.event
                if event.event_value is not None:
                    used.add("EVENT_VALUE")
                if event.impression:
                    used.add("IMPRESSION")
                if event.recommendation_id:
                    used.add("RECOMMENDATION_ID")
                if event.properties:
                    context.update(dict.fromkeys(json.loads(event.properties)))

        def events() -> Iterator[Event]:
            for path in files:
                for item in usable(path):
                    if isinstance(item, ExportLine):
                        yield item.event

        columns = INTERACTIONS_COLUMNS if all_columns else tuple(used)
        if str(output) == "-":
            written = write_interactions_csv(
                sys.stdout, events(), context=list(context), columns=columns
            )
        else:
            with output.open("w", newline="", encoding="utf-8") as stream:
                written = write_interactions_csv(
                    stream, events(), context=list(context), columns=columns
                )
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    where = "stdout" if str(output) == "-" else str(output)
    click.echo(
        f"personalize-tracker export: {written:,} events to {where}, "
        f"{len(problems):,} line(s) skipped",
        err=True,
    )
    for problem in problems[:20]:
        click.echo(f"  {problem}", err=True)
    if len(problems) > 20:
        click.echo(f"  ... and {len(problems) - 20:,} more", err=True)
    ctx.exit(1 if problems else 0)


@cli.command("serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_SERVE_PORT,
    show_default=True,
    help="TCP port on 127.0.0.1; 0 picks a free one.",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append every event received to this JSON Lines file (for 'export' or 'replay').",
)
@click.option(
    "--exit-after-events",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Stop once N events were received (half a second later, so the last calls are answered).",
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="S",
    help="Stop after S seconds.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    port: int,
    record: Path | None,
    exit_after_events: int | None,
    max_seconds: float | None,
) -> None:
    """Run the local Amazon Personalize endpoint on 127.0.0.1 for app development.

    Serves PutEvents (and PutItems, PutUsers, GetRecommendations...) as the testing extension
    does: requests are validated like the service does, and nothing leaves this machine. Prints
    the endpoint_url to configure and a live count of received events, until Ctrl-C (or
    --exit-after-events / --max-seconds). Any credentials are accepted. Needs the 'testing'
    extra.
    """
    import time

    try:
        from .testing import serve_personalize_events

        server = serve_personalize_events(host="127.0.0.1", port=port)
        handle = server.__enter__()
    except ImportError as exc:
        raise click.ClickException(
            f"serve needs the 'testing' extra ({exc}): pip install 'personalize-tracker[testing]'"
        ) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on 127.0.0.1:{port} ({exc}); pass --port 0 for a free port"
        ) from None
    url = handle.endpoint_url
    live = sys.stdout.isatty()
    out = sys.stdout

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    say("personalize-tracker serve: a local Amazon Personalize endpoint (Ctrl-C stops it)")
    say(f"  endpoint_url  {url}")
    say(
        f'  python        Tracker("any-tracking-id", endpoint_url="{url}", region_name="us-east-1")'
    )
    say("  credentials   any, e.g. AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
    if record is not None:
        say(f"  recording to  {record}")
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    interval = 0.2 if live else 0.5  # seconds between two updates of the count, at least
    seen = 0
    shown = -1

    def counts() -> str:
        calls = [r for r in handle.requests if r.operation == "PutEvents"]
        rejected = sum(1 for r in calls if not r.accepted)
        return f"received {seen:,} events in {len(calls):,} PutEvents calls ({rejected:,} rejected)"

    recording = None
    try:
        if record is not None:
            record.parent.mkdir(parents=True, exist_ok=True)
            recording = record.open("a", encoding="utf-8")
        while True:
            if seen != shown:
                if live:
                    out.write("\r  " + counts())
                    out.flush()
                else:
                    say("  " + counts())
                shown = seen
            now = time.monotonic()
            if (exit_after_events is not None and seen >= exit_after_events) or (
                deadline is not None and now >= deadline
            ):
                # An event is recorded just before its call is answered: let the last answers
                # reach their clients before the server stops.
                time.sleep(_SERVE_EXIT_GRACE)
                break
            # Wake at the next event (or after a second, or at the deadline).
            handle.wait_for_events(
                seen + 1, timeout=1.0 if deadline is None else min(1.0, deadline - now)
            )
            events = handle.events
            fresh = events[seen:]
            seen = len(events)
            if recording is not None and fresh:
                recording.writelines(_recorded_line(event) for event in fresh)
                recording.flush()
            if fresh and (exit_after_events is None or seen < exit_after_events):
                time.sleep(interval)  # let a burst gather: a few updates a second at most
    except KeyboardInterrupt:
        pass
    finally:
        if recording is not None:
            recording.close()
        server.__exit__(None, None, None)
    if live:
        out.write("\n")
    say(f"stopped: {counts()}")
    ctx.exit(0)


def _recorded_line(event: RecordedEvent) -> str:
    """A received event as one JSON line: the PutEvents event plus trackingId, sessionId,
    userId (the shape 'export' and 'replay' read)."""
    record: dict[str, object] = {
        "trackingId": event.tracking_id,
        "sessionId": event.session_id,
        "userId": event.user_id,
        "eventId": event.event_id,
        "eventType": event.event_type,
        "sentAt": event.sent_at,
        "itemId": event.item_id,
        "eventValue": event.event_value,
        "properties": event.properties,
        "recommendationId": event.recommendation_id,
        "impression": None if event.impression is None else list(event.impression),
        "metricAttribution": None
        if event.metric_attribution_source is None
        else {"eventAttributionSource": event.metric_attribution_source},
    }
    line = {key: value for key, value in record.items() if value is not None}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
