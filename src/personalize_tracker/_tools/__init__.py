"""The tools behind the ``personalize-tracker`` command line and ``personalize_tracker.replay()``.

- :mod:`.demo`: the MovieLens demo (reading and sessionizing the ratings, the run, its report).
- :mod:`.bulk`: bulk interaction files (field mapping, CSV and JSON Lines reading, CSV export).
- :mod:`.replay`: ``replay()``, a table of past interactions through a Tracker, and its summary.
- :mod:`.deadletters` and :mod:`.resend`: reading a dead-letter file, and sending it again.
- :mod:`.backfill`: what the demo and ``replay()`` share (pacing, the floor of calls, failures).
- :mod:`.extras`: the message naming the ``cli`` extra (no click needed to print it).

Like the command line and the integrations, these are edges: they use the library through its
public modules only, and nothing in the core imports them. This package imports none of its
modules, so that importing one tool does not import the others.
"""
