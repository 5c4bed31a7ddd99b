"""The canonical records every layer exchanges (docs/design.md, "Where each concept lives").

A leaf package: it imports nothing of ours (numpy and the standard library only), so ingest,
store, analysis, report, sim and jobs may all import it. One type per concept:

* :mod:`records.runs` - :class:`~records.runs.RunRecords`, the per-record time series of one
  activity (FIT ``record`` messages; the runs' economy analysis reads it);
* :mod:`records.imu` - :class:`~records.imu.ImuSamples`, IMU samples in SI units;
* :mod:`records.activities` - activities, laps, strength sets and the source-file ledger entry;
* :mod:`records.reps` - the stored row of one barbell rep;
* :mod:`records.identity` - stream session identity (session and pending ids);
* :mod:`records.columns` - byte-string and dictionary-coded columns for bulk rows;
* :mod:`records.units` - physical constants;
* :mod:`records.times` - UTC instants, ISO-8601 text and the athlete's local calendar.

Conventions (docs/design.md section 2): ``t_ns`` is int64 UTC epoch nanoseconds (a capture's
own clock where a docstring says so), ``*_at`` are timezone-aware UTC datetimes, SI units with
the unit in every name, NaN (arrays) or None (scalars) for absent, never 0.
"""
