"""``personalize-tracker serve``: run the local testing endpoint on 127.0.0.1, with a live count
of the events received, and optionally a recording of them."""

from __future__ import annotations

import json
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from .._tools.extras import install_command

if TYPE_CHECKING:
    from ..testing import PersonalizeEventsMock, RecordedEvent

__all__ = ["DEFAULT_SERVE_PORT", "recorded_line", "serve"]

#: Default port of ``personalize-tracker serve`` (0 picks a free one).
DEFAULT_SERVE_PORT = 8765
# Seconds serve keeps answering after --exit-after-events or --max-seconds is reached.
_SERVE_EXIT_GRACE = 0.5


@click.command("serve")
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
@click.option(
    "--strict-resources",
    is_flag=True,
    default=False,
    help="Answer ResourceNotFoundException, as the service does, for tracking ids, datasets, "
    "campaigns and recommenders not created first through the personalize control-plane calls "
    "(CreateDatasetGroup, CreateEventTracker...); default: any name is accepted.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    port: int,
    record: Path | None,
    exit_after_events: int | None,
    max_seconds: float | None,
    strict_resources: bool,
) -> None:
    """Run the local Amazon Personalize endpoint on 127.0.0.1 for app development.

    Serves PutEvents (and PutItems, PutUsers, GetRecommendations...) as the testing extension
    does: requests are validated like the service does, and nothing leaves this machine. Prints
    the endpoint_url to configure and a live count of received events, until Ctrl-C (or
    --exit-after-events / --max-seconds). Any credentials are accepted. Needs the 'testing'
    extra.
    """
    server, handle = _start(port, strict_resources)
    monitor = _Monitor(handle, sys.stdout)
    monitor.banner(record)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        monitor.run(record, exit_after_events, deadline)
    except KeyboardInterrupt:
        pass
    finally:
        server.__exit__(None, None, None)
    if monitor.live:
        monitor.out.write("\n")
    monitor.say(f"stopped: {monitor.counts()}")
    ctx.exit(0)


def _start(
    port: int, strict_resources: bool = False
) -> tuple[AbstractContextManager[PersonalizeEventsMock], PersonalizeEventsMock]:
    """Start the local endpoint on 127.0.0.1:``port``; return the server and its handle.
    With ``strict_resources``, data-plane calls must name resources that were created.

    Raises:
        click.ClickException: the testing extra is missing, or the port cannot be listened on.
    """
    try:
        from ..testing import serve_personalize_events

        server = serve_personalize_events(
            host="127.0.0.1", port=port, strict_resources=strict_resources
        )
        return server, server.__enter__()
    except ImportError as exc:
        raise click.ClickException(
            f"serve needs the 'testing' extra ({exc}): {install_command('testing')}"
        ) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on 127.0.0.1:{port} ({exc}); pass --port 0 for a free port"
        ) from None


class _Monitor:
    """What ``serve`` prints while it runs, and the recording of the events received.

    Args:
        handle: the endpoint's handle.
        out: the stream printed to (stdout); on a terminal the count is updated in place.

    Attributes:
        seen: events received so far.
    """

    def __init__(self, handle: PersonalizeEventsMock, out: IO[str]) -> None:
        self.handle = handle
        self.out = out
        self.live = out.isatty()
        self.seen = 0

    def say(self, text: str) -> None:
        """Print a line, at once."""
        self.out.write(text + "\n")
        self.out.flush()

    def banner(self, record: Path | None) -> None:
        """Print the endpoint_url, how to use it, and where events are recorded."""
        url = self.handle.endpoint_url
        say = self.say
        say("personalize-tracker serve: a local Amazon Personalize endpoint (Ctrl-C stops it)")
        say(f"  endpoint_url  {url}")
        say(
            f'  python        Tracker("any-tracking-id", endpoint_url="{url}", '
            'region_name="us-east-1")'
        )
        say("  credentials   any, e.g. AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
        if self.handle.strict_resources:
            say("  resources     strict: create them first (personalize CreateEventTracker...)")
        if record is not None:
            say(f"  recording to  {record}")

    def counts(self) -> str:
        """``received N events in M PutEvents calls (R rejected)``, then the items, users,
        actions and action interactions received, if any (``; 12 items, 1 user``)."""
        calls = [r for r in self.handle.requests if r.operation == "PutEvents"]
        rejected = sum(1 for r in calls if not r.accepted)
        others = [
            f"{count:,} {name}{'' if count == 1 else 's'}"
            for name, count in self.others().items()
            if count
        ]
        return (
            f"received {self.seen:,} events in {len(calls):,} PutEvents calls "
            f"({rejected:,} rejected)" + ("; " + ", ".join(others) if others else "")
        )

    def others(self) -> dict[str, int]:
        """The records of PutItems, PutUsers, PutActions and PutActionInteractions received, by
        the name of one (``"item"``...)."""
        handle = self.handle
        return {
            "item": len(handle.items),
            "user": len(handle.users),
            "action": len(handle.actions),
            "action interaction": len(handle.action_interactions),
        }

    def run(
        self, record: Path | None, exit_after_events: int | None, deadline: float | None
    ) -> None:
        """Count (and record) events until ``exit_after_events`` were received or the
        ``deadline`` (a ``time.monotonic()`` value) passed; Ctrl-C raises KeyboardInterrupt.

        Raises:
            OSError: the recording cannot be opened or written.
        """
        recording = None
        try:
            if record is not None:
                record.parent.mkdir(parents=True, exist_ok=True)
                recording = record.open("a", encoding="utf-8")
            self._count(recording, exit_after_events, deadline)
        finally:
            if recording is not None:
                recording.close()

    def _count(
        self, recording: IO[str] | None, exit_after_events: int | None, deadline: float | None
    ) -> None:
        interval = 0.2 if self.live else 0.5  # seconds between two updates of the count, at least
        shown: tuple[int, int] = (-1, -1)
        while True:
            now_seen = (self.seen, sum(self.others().values()))
            if now_seen != shown:
                if self.live:
                    self.out.write("\r  " + self.counts())
                    self.out.flush()
                else:
                    self.say("  " + self.counts())
                shown = now_seen
            now = time.monotonic()
            if (exit_after_events is not None and self.seen >= exit_after_events) or (
                deadline is not None and now >= deadline
            ):
                # An event is recorded just before its call is answered: let the last answers
                # reach their clients before the server stops.
                time.sleep(_SERVE_EXIT_GRACE)
                return
            # Wake at the next event (or after a second, or at the deadline: other records are
            # counted then).
            self.handle.wait_for_events(
                self.seen + 1, timeout=1.0 if deadline is None else min(1.0, deadline - now)
            )
            events = self.handle.events
            fresh = events[self.seen :]
            self.seen = len(events)
            if recording is not None and fresh:
                recording.writelines(recorded_line(event) for event in fresh)
                recording.flush()
            if fresh and (exit_after_events is None or self.seen < exit_after_events):
                time.sleep(interval)  # let a burst gather: a few updates a second at most


def recorded_line(event: RecordedEvent) -> str:
    """A received event as one JSON line: the PutEvents event plus trackingId, sessionId,
    userId (the shape 'export' and 'replay' read).

    Args:
        event: the event as the endpoint recorded it.

    Returns:
        The line, ending with ``"\\n"``; keys whose value is ``None`` are left out.
    """
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
