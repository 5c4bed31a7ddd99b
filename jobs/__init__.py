"""The only place that composes the layers (docs/design.md section 1): each job opens what it
needs, calls ingest, store, analysis and report in order, and closes.

* :mod:`jobs.commands` - the CLI's store commands (import with the landed-session merge,
  activities, sets, athlete, correct, report, export) and the error classes per exit code;
* :mod:`jobs.stream`, :mod:`jobs.stream_session` - the live stream with its rep detector;
* :mod:`jobs.stream_finish` - the end of a stream session (whole-session analysis, rows, merge);
* :mod:`jobs.replay` - a capture through the live path; :mod:`jobs.recovery` - sessions cut off
  by a crash;
* :mod:`jobs.report` - the report build; :mod:`jobs.nightly` - cron/systemd; :mod:`jobs.demo`.
"""
