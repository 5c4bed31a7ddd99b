"""Schema migrations for the runstrong DuckDB store.

Migrations are an ordered list; each is applied in one transaction together with its
``schema_migration`` row, so a crash never leaves a half-applied migration. Append new
migrations at the end; never edit one that has shipped.

Conventions (docs/design.md section 2): ``t_ns`` is int64 UTC epoch nanoseconds (for stream tables
the capture's monotonic clock is converted with the session's wall-clock anchor), ``*_at`` is
TIMESTAMPTZ in UTC, SI units with the unit in every column name, NULL for absent values.
Raw sample tables have no primary key on purpose: a key made inserts 3.5-4x slower and the
file 3.2x larger (measured); idempotency lives in the ``source_file`` and ``stream_batch``
ledgers instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial schema",
        """
        CREATE TABLE athlete (
            athlete        VARCHAR PRIMARY KEY,
            body_mass_kg   DOUBLE,
            sex            VARCHAR,          -- 'female' | 'male' | NULL
            hr_rest_bpm    DOUBLE,
            hr_max_bpm     DOUBLE,
            tz             VARCHAR,          -- IANA zone; NULL = take it from FIT local_timestamp offsets
            created_at     TIMESTAMPTZ NOT NULL
        );

        -- Ledger of imported FIT content, keyed by athlete and sha256 of the decompressed bytes.
        CREATE TABLE source_file (
            athlete        VARCHAR NOT NULL,
            sha256         VARCHAR NOT NULL,
            path           VARCHAR NOT NULL,
            bytes_size     BIGINT NOT NULL,
            status         VARCHAR NOT NULL, -- 'imported' | 'partial'
            error          VARCHAR,
            decoder        VARCHAR NOT NULL, -- 'fast' | 'fitparse'
            file_type      VARCHAR,
            imported_at    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, sha256)
        );

        -- Every import attempt that did not store a file (failed / skipped), for data health.
        CREATE TABLE import_event (
            athlete        VARCHAR NOT NULL,
            path           VARCHAR NOT NULL,
            sha256         VARCHAR,
            status         VARCHAR NOT NULL, -- 'failed' | 'skipped' | 'partial'
            reason         VARCHAR,
            logged_at      TIMESTAMPTZ NOT NULL
        );

        CREATE TABLE activity (
            athlete              VARCHAR NOT NULL,
            activity_id          VARCHAR NOT NULL,
            source_sha256        VARCHAR NOT NULL,
            session_index        INTEGER NOT NULL,
            sport                VARCHAR NOT NULL,
            sub_sport            VARCHAR,
            started_at           TIMESTAMPTZ NOT NULL,
            duration_s           DOUBLE,
            distance_m           DOUBLE,
            records              INTEGER NOT NULL,
            avg_heart_rate_bpm   DOUBLE,
            avg_speed_mps        DOUBLE,
            avg_power_w          DOUBLE,
            total_ascent_m       DOUBLE,
            utc_offset_s         INTEGER,    -- local_timestamp - timestamp from the FIT activity message
            device               VARCHAR,
            name                 VARCHAR,
            sets                 INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (athlete, activity_id)
        );

        -- FIT `record` messages (runs and every other sport). No primary key (see module doc).
        CREATE TABLE record (
            athlete                  VARCHAR NOT NULL,
            activity_id              VARCHAR NOT NULL,
            t_ns                     BIGINT NOT NULL,
            heart_rate_bpm           DOUBLE,
            speed_mps                DOUBLE,
            distance_m               DOUBLE,
            altitude_m               DOUBLE,
            cadence_spm              DOUBLE,   -- steps/min, foot sports (FIT running cadence x 2 + fractional)
            cadence_rpm              DOUBLE,   -- other sports (cycling, rowing): FIT cadence as is
            power_w                  DOUBLE,
            lat_deg                  DOUBLE,
            lon_deg                  DOUBLE,
            temperature_c            DOUBLE,
            vertical_oscillation_m   DOUBLE,
            stance_time_s            DOUBLE,
            step_length_m            DOUBLE,
            vertical_ratio_pct       DOUBLE
        );

        CREATE TABLE lap (
            athlete              VARCHAR NOT NULL,
            activity_id          VARCHAR NOT NULL,
            lap_index            INTEGER NOT NULL,
            started_at           TIMESTAMPTZ,
            duration_s           DOUBLE,
            distance_m           DOUBLE,
            avg_heart_rate_bpm   DOUBLE,
            avg_speed_mps        DOUBLE,
            avg_power_w          DOUBLE,
            total_ascent_m       DOUBLE
        );

        -- Strength sets: FIT `set` messages (source 'fit') and streamed/replayed barbell sets ('sensor').
        CREATE TABLE strength_set (
            athlete              VARCHAR NOT NULL,
            set_id               VARCHAR NOT NULL,
            activity_id          VARCHAR,
            session_id           VARCHAR,
            set_index            INTEGER NOT NULL,
            started_at           TIMESTAMPTZ,
            exercise             VARCHAR,        -- contract name where one fits, else the FIT name
            exercise_candidates  VARCHAR[],
            fit_category         VARCHAR,
            fit_category_subtype VARCHAR,
            set_type             VARCHAR NOT NULL, -- 'active' | 'rest'
            reps                 INTEGER,
            load_kg              DOUBLE,
            duration_s           DOUBLE,
            source               VARCHAR NOT NULL, -- 'fit' | 'sensor'
            PRIMARY KEY (athlete, set_id)
        );

        -- User corrections: they live apart from imported rows so that re-imports never undo them.
        CREATE TABLE set_correction (
            athlete      VARCHAR NOT NULL,
            set_id       VARCHAR NOT NULL,
            exercise     VARCHAR NOT NULL,
            corrected_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, set_id)
        );

        CREATE TABLE activity_exclusion (
            athlete      VARCHAR NOT NULL,
            activity_id  VARCHAR NOT NULL,
            reason       VARCHAR NOT NULL,
            excluded_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, activity_id)
        );

        -- Live / replayed BLE sessions.
        CREATE TABLE stream_session (
            athlete              VARCHAR NOT NULL,
            session_id           VARCHAR NOT NULL,
            sensor               VARCHAR NOT NULL,
            device_name          VARCHAR,
            device_address       VARCHAR,
            started_at           TIMESTAMPTZ NOT NULL,   -- wall-clock anchor of capture t_ns = anchor_t_ns
            anchor_t_ns          BIGINT NOT NULL,        -- capture-clock t_ns at started_at
            configured_rate_hz   DOUBLE,
            sample_rate_hz       DOUBLE,                 -- fitted over the session
            exercise             VARCHAR,
            load_kg              DOUBLE,
            notifications        BIGINT,
            samples              BIGINT,
            lost_samples         BIGINT,
            reconnects           INTEGER,
            ended_at             TIMESTAMPTZ,
            status               VARCHAR NOT NULL,       -- 'open' | 'complete' | 'recovered'
            PRIMARY KEY (athlete, session_id)
        );

        -- Ledger of committed stream batches (idempotent merge of landing files).
        CREATE TABLE stream_batch (
            session_id   VARCHAR NOT NULL,
            batch_seq    BIGINT NOT NULL,
            frames       INTEGER NOT NULL,
            samples      INTEGER NOT NULL,
            committed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (session_id, batch_seq)
        );

        -- Raw BLE notification payloads, so decoders can be re-run after a fix. t_ns: capture clock.
        CREATE TABLE ble_frame (
            session_id   VARCHAR NOT NULL,
            seq          BIGINT NOT NULL,
            t_ns         BIGINT NOT NULL,
            char         VARCHAR NOT NULL,
            payload      BLOB NOT NULL
        );

        -- Decoded IMU samples (WitMotion): sensor frame, SI units; t_ns UTC (reconstructed sample time).
        CREATE TABLE imu_sample (
            session_id   VARCHAR NOT NULL,
            t_ns         BIGINT NOT NULL,
            ax_mps2 DOUBLE, ay_mps2 DOUBLE, az_mps2 DOUBLE,
            gx_radps DOUBLE, gy_radps DOUBLE, gz_radps DOUBLE,
            roll_rad DOUBLE, pitch_rad DOUBLE, yaw_rad DOUBLE
        );

        CREATE TABLE hr_sample (
            session_id       VARCHAR NOT NULL,
            t_ns             BIGINT NOT NULL,
            heart_rate_bpm   DOUBLE,
            rr_s             DOUBLE[],
            energy_kj        DOUBLE,
            contact          VARCHAR
        );

        CREATE TABLE rsc_sample (
            session_id       VARCHAR NOT NULL,
            t_ns             BIGINT NOT NULL,
            speed_mps        DOUBLE,
            cadence_spm      DOUBLE,
            stride_length_m  DOUBLE,
            distance_m       DOUBLE,
            running          BOOLEAN
        );

        CREATE TABLE power_sample (
            session_id       VARCHAR NOT NULL,
            t_ns             BIGINT NOT NULL,
            power_w          DOUBLE,
            crank_revolutions BIGINT,
            last_crank_event_s DOUBLE
        );

        -- Link gaps (disconnect -> reconnect) on the capture clock.
        CREATE TABLE stream_gap (
            session_id   VARCHAR NOT NULL,
            start_ns     BIGINT NOT NULL,
            end_ns       BIGINT NOT NULL
        );

        -- Per-rep metrics of streamed/replayed sessions (capture clock for *_ns).
        CREATE TABLE rep (
            athlete                        VARCHAR NOT NULL,
            session_id                     VARCHAR NOT NULL,
            set_index                      INTEGER NOT NULL,
            rep_index                      INTEGER NOT NULL,
            exercise                       VARCHAR,
            load_kg                        DOUBLE,
            started_at                     TIMESTAMPTZ,
            start_ns                       BIGINT,
            end_ns                         BIGINT,
            concentric_start_ns            BIGINT,
            concentric_end_ns              BIGINT,
            mean_velocity_mps              DOUBLE,
            mean_propulsive_velocity_mps   DOUBLE,
            peak_velocity_mps              DOUBLE,
            time_to_peak_velocity_s        DOUBLE,
            rom_m                          DOUBLE,
            mean_power_w                   DOUBLE,
            peak_force_n                   DOUBLE,
            peak_system_force_n            DOUBLE,
            peak_rfd_n_per_s               DOUBLE,
            rfd_0_100ms_n_per_s            DOUBLE,
            velocity_loss_pct              DOUBLE,
            PRIMARY KEY (athlete, session_id, set_index, rep_index)
        );

        -- Derived per-run metrics (economy proxies, TRIMP), cached by algorithm version.
        CREATE TABLE run_metric (
            athlete        VARCHAR NOT NULL,
            activity_id    VARCHAR NOT NULL,
            algo_version   INTEGER NOT NULL,
            computed_at    TIMESTAMPTZ NOT NULL,
            payload        JSON NOT NULL,
            PRIMARY KEY (athlete, activity_id)
        );

        -- Per-exercise reference load for velocity-at-reference-load trends (fixed once).
        CREATE TABLE reference_load (
            athlete        VARCHAR NOT NULL,
            exercise       VARCHAR NOT NULL,
            load_kg        DOUBLE NOT NULL,
            fixed_at       TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, exercise)
        );

        CREATE TABLE run_log (
            command      VARCHAR NOT NULL,
            started_at   TIMESTAMPTZ NOT NULL,
            seconds      DOUBLE,
            summary      JSON
        );
        """,
    ),
    Migration(
        2,
        "activity.time_reference: FIT files whose clock is device-relative",
        """
        -- FIT date_time values below 0x10000000 are seconds since device power-on, not UTC
        -- (FIT profile, type date_time). Such activities have no calendar date.
        ALTER TABLE activity ADD COLUMN time_reference VARCHAR DEFAULT 'utc';  -- 'utc' | 'device_relative'
        """,
    ),
    Migration(
        3,
        "stream rows owned by an athlete; tombstones of deleted athletes' files",
        # Before this, raw stream tables were keyed by session_id alone, and a capture replayed under
        # a second athlete got the same id: deleting one athlete deleted the other's frames. Every
        # row now names its athlete. Rows shared by several athletes' sessions are copied to each;
        # rows whose session row is missing (none are written that way) cannot be attributed and
        # are dropped.
        """
        CREATE TABLE stream_batch_v3 (
            athlete      VARCHAR NOT NULL,
            session_id   VARCHAR NOT NULL,
            batch_seq    BIGINT NOT NULL,
            frames       INTEGER NOT NULL,
            samples      INTEGER NOT NULL,
            committed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, session_id, batch_seq)
        );
        INSERT INTO stream_batch_v3
            SELECT s.athlete, b.session_id, b.batch_seq, b.frames, b.samples, b.committed_at
            FROM stream_batch b JOIN (SELECT DISTINCT athlete, session_id FROM stream_session) s USING (session_id);
        DROP TABLE stream_batch;
        ALTER TABLE stream_batch_v3 RENAME TO stream_batch;
        -- Each raw table is rebuilt with the athlete (a DuckDB 1.4 transaction cannot alter a table
        -- and then rewrite its rows).
        CREATE TABLE ble_frame_v3 (
            athlete      VARCHAR NOT NULL,
            session_id   VARCHAR NOT NULL,
            seq          BIGINT NOT NULL,
            t_ns         BIGINT NOT NULL,
            char         VARCHAR NOT NULL,
            payload      BLOB NOT NULL
        );
        INSERT INTO ble_frame_v3 BY NAME
            SELECT s.athlete, x.* FROM ble_frame x
            JOIN (SELECT DISTINCT athlete, session_id FROM stream_session) s USING (session_id);
        DROP TABLE ble_frame;
        ALTER TABLE ble_frame_v3 RENAME TO ble_frame;

        CREATE TABLE imu_sample_v3 (
            athlete      VARCHAR NOT NULL,
            session_id   VARCHAR NOT NULL,
            t_ns         BIGINT NOT NULL,
            ax_mps2 DOUBLE, ay_mps2 DOUBLE, az_mps2 DOUBLE,
            gx_radps DOUBLE, gy_radps DOUBLE, gz_radps DOUBLE,
            roll_rad DOUBLE, pitch_rad DOUBLE, yaw_rad DOUBLE
        );
        INSERT INTO imu_sample_v3 BY NAME
            SELECT s.athlete, x.* FROM imu_sample x
            JOIN (SELECT DISTINCT athlete, session_id FROM stream_session) s USING (session_id);
        DROP TABLE imu_sample;
        ALTER TABLE imu_sample_v3 RENAME TO imu_sample;

        CREATE TABLE hr_sample_v3 (
            athlete      VARCHAR NOT NULL,
            session_id   VARCHAR NOT NULL,
            t_ns             BIGINT NOT NULL,
            heart_rate_bpm   DOUBLE,
            rr_s             DOUBLE[],
            energy_kj        DOUBLE,
            contact          VARCHAR
        );
        INSERT INTO hr_sample_v3 BY NAME
            SELECT s.athlete, x.* FROM hr_sample x
            JOIN (SELECT DISTINCT athlete, session_id FROM stream_session) s USING (session_id);
        DROP TABLE hr_sample;
        ALTER TABLE hr_sample_v3 RENAME TO hr_sample;

        CREATE TABLE rsc_sample_v3 (
            athlete      VARCHAR NOT NULL,
            session_id   VARCHAR NOT NULL,
            t_ns             BIGINT NOT NULL,
            speed_mps        DOUBLE,
            cadence_spm      DOUBLE,
            stride_length_m  DOUBLE,
            distance_m       DOUBLE,
            running          BOOLEAN
        );
        INSERT INTO rsc_sample_v3 BY NAME
            SELECT s.athlete, x.* FROM rsc_sample x
            JOIN (SELECT DISTINCT athlete, session_id FROM stream_session) s USING (session_id);
        DROP TABLE rsc_sample;
        ALTER TABLE rsc_sample_v3 RENAME TO rsc_sample;

        CREATE TABLE power_sample_v3 (
            athlete      VARCHAR NOT NULL,
            session_id   VARCHAR NOT NULL,
            t_ns             BIGINT NOT NULL,
            power_w          DOUBLE,
            crank_revolutions BIGINT,
            last_crank_event_s DOUBLE
        );
        INSERT INTO power_sample_v3 BY NAME
            SELECT s.athlete, x.* FROM power_sample x
            JOIN (SELECT DISTINCT athlete, session_id FROM stream_session) s USING (session_id);
        DROP TABLE power_sample;
        ALTER TABLE power_sample_v3 RENAME TO power_sample;

        CREATE TABLE stream_gap_v3 (
            athlete      VARCHAR NOT NULL,
            session_id   VARCHAR NOT NULL,
            start_ns     BIGINT NOT NULL,
            end_ns       BIGINT NOT NULL
        );
        INSERT INTO stream_gap_v3 BY NAME
            SELECT s.athlete, x.* FROM stream_gap x
            JOIN (SELECT DISTINCT athlete, session_id FROM stream_session) s USING (session_id);
        DROP TABLE stream_gap;
        ALTER TABLE stream_gap_v3 RENAME TO stream_gap;

        -- Tombstones of `athlete delete`. deleted_file: the athlete + sha256 of each deleted file's
        -- decompressed content, so an import or a nightly of the same folder skips it ("deleted
        -- athlete") unless `import --undelete`. deleted_athlete: when, so a landing file written
        -- before the deletion (a crash between the delete and the removal of the file) is discarded,
        -- never merged back.
        CREATE TABLE deleted_file (
            athlete      VARCHAR NOT NULL,
            sha256       VARCHAR NOT NULL,
            deleted_at   TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, sha256)
        );
        CREATE TABLE deleted_athlete (
            athlete      VARCHAR NOT NULL,
            deleted_at   TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    Migration(
        4,
        "analysis method and body mass per stream session; velocity loss on MPV per rep, velocity figures per sensor set",
        """
        -- The bar-velocity method that produced a session's reps and sets
        -- (analysis.version.BAR_VELOCITY_METHOD_VERSION); NULL = analysed before it was recorded.
        -- `reanalyse` re-runs the analysis of every sensor session and sets it.
        ALTER TABLE stream_session ADD COLUMN analysis_method VARCHAR;
        -- The athlete's body mass the analysis was given (peak_system_force_n), so a re-analysis
        -- uses the same; NULL = none given (or analysed before it was recorded).
        ALTER TABLE stream_session ADD COLUMN body_mass_kg DOUBLE;
        -- Velocity loss on mean propulsive velocity (Sanchez-Medina & Gonzalez-Badillo 2011), as the
        -- replay/stream JSON has it; the analysis computed it, the store dropped it.
        ALTER TABLE rep ADD COLUMN velocity_loss_mpv_pct DOUBLE;
        -- Sensor sets (source 'sensor'): the set figures of the replay/stream JSON. NULL for FIT sets.
        ALTER TABLE strength_set ADD COLUMN best_mean_velocity_mps DOUBLE;
        ALTER TABLE strength_set ADD COLUMN velocity_loss_pct DOUBLE;
        ALTER TABLE strength_set ADD COLUMN best_mean_propulsive_velocity_mps DOUBLE;
        ALTER TABLE strength_set ADD COLUMN velocity_loss_mpv_pct DOUBLE;
        """,
    ),
    Migration(
        5,
        "economy model inputs: activity.hr_sensor, run_context, athlete_event, economy_setting",
        """
        -- The heart-rate source FIT device_info reveals: 'strap:<maker>/<product>:SN<serial>' or 'built-in'.
        ALTER TABLE activity ADD COLUMN hr_sensor VARCHAR;

        -- What a run's records do not hold, logged by the user (kept apart from imported rows, so
        -- re-imports never undo it): air temperature (a weather reading, not the watch's own sensor)
        -- and the shoe worn.
        CREATE TABLE run_context (
            athlete            VARCHAR NOT NULL,
            activity_id        VARCHAR NOT NULL,
            air_temperature_c  DOUBLE,
            shoe               VARCHAR,
            updated_at         TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, activity_id)
        );

        -- Logged changes the economy model treats as steps ('shoe', 'hr_sensor', ...).
        CREATE TABLE athlete_event (
            athlete      VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL,
            event_at     TIMESTAMPTZ NOT NULL,
            note         VARCHAR,
            logged_at    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, kind, event_at)
        );

        -- Per-athlete overrides of the economy model (NULL = the rule / the default).
        CREATE TABLE economy_setting (
            athlete         VARCHAR PRIMARY KEY,
            strength_start  DATE,
            primary_proxy   VARCHAR,
            swc_pct         DOUBLE,
            swc_source      VARCHAR,
            updated_at      TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    Migration(
        6,
        "strength ledger: app workouts and sets (Strong, Hevy), ledger corrections, athlete.weight_unit",
        """
        -- The unit of a phone-app export that does not name its own (Strong's classic CSV): 'kg' | 'lb';
        -- NULL = kg.
        ALTER TABLE athlete ADD COLUMN weight_unit VARCHAR;

        -- One workout of a Strong or Hevy export (docs/strength-ledger.md). Keyed by session_key =
        -- app + local start + title: a later, longer export of the same app updates the row when its
        -- content_sha256 changed, never adds a second one. The export the stored version came from is
        -- source_sha256 (a source_file row), and export_as_of its latest workout start: an older export
        -- never overwrites a newer one's version. A workout missing from a later export that covers its
        -- date was deleted in the app: it stays, flagged by missing_since / missing_from_sha256 / missing_as_of.
        CREATE TABLE app_session (
            athlete              VARCHAR NOT NULL,
            session_key          VARCHAR NOT NULL,
            app                  VARCHAR NOT NULL,      -- 'strong' | 'hevy'
            title                VARCHAR NOT NULL,
            start_local          TIMESTAMP NOT NULL,    -- wall-clock start as the app wrote it (no zone)
            start_precision      VARCHAR NOT NULL,      -- 'second' | 'minute' | 'day'
            started_at           TIMESTAMPTZ NOT NULL,  -- start_local read in tz
            duration_s           DOUBLE,
            tz                   VARCHAR NOT NULL,      -- the athlete's zone the local times were read in
            local_time_note      VARCHAR,               -- a daylight-saving gap or repeat at the start
            notes                VARCHAR,
            session_rpe          DOUBLE,                -- CR-10 (Foster 2001); neither app exports one today
            weight_unit          VARCHAR,               -- 'kg' | 'lb' | 'mixed' | 'none'
            weight_unit_source   VARCHAR,               -- 'header' | 'column' | 'caller' (the athlete's setting)
            distance_unit        VARCHAR,               -- 'km' | 'mi' | 'm' | 'ft' | 'mixed' | 'none'
            distance_unit_source VARCHAR,
            content_sha256       VARCHAR NOT NULL,
            source_sha256        VARCHAR NOT NULL,
            export_as_of         TIMESTAMP NOT NULL,    -- latest workout start (local) of that export
            first_imported_at    TIMESTAMPTZ NOT NULL,
            updated_at           TIMESTAMPTZ NOT NULL,
            missing_since        TIMESTAMPTZ,
            missing_from_sha256  VARCHAR,
            missing_as_of        TIMESTAMP,             -- export_as_of of the export that lacked it
            PRIMARY KEY (athlete, session_key)
        );

        -- The sets of an app workout, replaced with the workout when the app edited it.
        -- set_id = session_key + '/' + position (1-based, in the export's order).
        CREATE TABLE app_set (
            athlete              VARCHAR NOT NULL,
            session_key          VARCHAR NOT NULL,
            set_id               VARCHAR NOT NULL,
            position             INTEGER NOT NULL,
            exercise             VARCHAR,               -- the project's name, NULL when unmapped
            exercise_as_written  VARCHAR NOT NULL,
            equipment            VARCHAR,
            exercise_order       INTEGER NOT NULL,
            set_order            INTEGER NOT NULL,
            set_order_as_written VARCHAR NOT NULL,
            set_role             VARCHAR NOT NULL,      -- 'warmup' | 'working' | 'drop' | 'failure'
            reps                 INTEGER,
            load_kg              DOUBLE,
            distance_m           DOUBLE,
            duration_s           DOUBLE,
            rpe                  DOUBLE,                -- the app's set RPE (repetitions in reserve scale)
            notes                VARCHAR,
            superset_id          VARCHAR,
            line                 INTEGER,               -- line of the row in its export
            PRIMARY KEY (athlete, set_id)
        );

        -- `correct --split / --merge` of the reconciled ledger (analysis.ledger.Correction): in source-session
        -- terms (refs = [[source, source_session_id], ...]), applied in seq order, a later one winning.
        CREATE TABLE ledger_correction (
            athlete      VARCHAR NOT NULL,
            seq          INTEGER NOT NULL,
            action       VARCHAR NOT NULL,              -- 'split' | 'merge'
            refs         JSON NOT NULL,
            corrected_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (athlete, seq)
        );
        """,
    ),
)


#: The newest schema version this code knows.
LATEST_VERSION = max(m.version for m in MIGRATIONS)


class NewerStoreError(Exception):
    """The store was written by a newer runstrong (a schema version this code does not know) or by a
    newer DuckDB (a storage version this DuckDB cannot read): refused before anything is written."""


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The store's schema version (None: a new, empty store). Reads only."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND table_name = 'schema_migration' AND database_name = current_database()"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute("SELECT max(version) FROM schema_migration").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def check_not_newer(con: duckdb.DuckDBPyConnection) -> None:
    """Raise :class:`NewerStoreError` if the store's schema is newer than :data:`LATEST_VERSION`."""
    v = stored_version(con)
    if v is not None and v > LATEST_VERSION:
        raise NewerStoreError(
            f"this store was written by a newer runstrong (schema {v} > {LATEST_VERSION}); "
            "use that version of runstrong with it"
        )


def migrate(con: duckdb.DuckDBPyConnection, *, transform: Callable[[str], str] | None = None) -> list[int]:
    """Apply every migration not yet recorded; return the versions applied now.

    A store whose schema is newer than this code is refused (:class:`NewerStoreError`) before
    anything is written: its tables may mean something this code does not know. ``transform``
    rewrites each migration's SQL first (a DuckLake takes the same migrations without keys:
    ``store.lake_schema``)."""
    check_not_newer(con)
    sql_of = transform or (lambda sql: sql)
    con.execute(
        sql_of(
            "CREATE TABLE IF NOT EXISTS schema_migration ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migration").fetchall()}
    applied: list[int] = []
    for m in MIGRATIONS:
        if m.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql_of(m.sql))
            con.execute("INSERT INTO schema_migration VALUES (?, ?, now())", [m.version, m.name])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(m.version)
    return applied


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migration").fetchone()
    return int(row[0]) if row else 0
