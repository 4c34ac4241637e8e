namespace Orchestrator.State;

/// <summary>
/// The schema as forward-only migrations: step N (1-based) moves <c>PRAGMA user_version</c> from
/// N-1 to N. A released step is never edited; a change is a new step appended at the end.
/// </summary>
internal static class Schema
{
    internal static IReadOnlyList<string> Migrations { get; } =
    [
        // 1: builds, validations with one row per test result, promotions.
        // Timestamps are ISO-8601 UTC text with 7 fraction digits, so text order is time order;
        // tags are JSON arrays of strings; durations are whole milliseconds.
        """
        CREATE TABLE builds (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            subject       TEXT    NOT NULL,
            kind          TEXT    NOT NULL,
            stage         TEXT    NOT NULL,
            reference     TEXT    NOT NULL,
            digest        TEXT    NOT NULL,
            tags          TEXT    NOT NULL,
            version       TEXT    NOT NULL,
            base_digest   TEXT    NULL,
            actor         TEXT    NOT NULL,
            at            TEXT    NOT NULL,
            duration_ms   INTEGER NOT NULL,
            recorded_at   TEXT    NOT NULL
        );
        CREATE INDEX ix_builds_subject_at ON builds (subject, at, id);
        CREATE INDEX ix_builds_at ON builds (at, id);

        CREATE TABLE validations (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            pipeline      TEXT    NOT NULL,
            stage         TEXT    NOT NULL,
            reference     TEXT    NOT NULL,
            digest        TEXT    NOT NULL,
            passed        INTEGER NOT NULL,
            actor         TEXT    NOT NULL,
            at            TEXT    NOT NULL,
            duration_ms   INTEGER NOT NULL,
            recorded_at   TEXT    NOT NULL
        );
        CREATE INDEX ix_validations_pipeline_digest_at ON validations (pipeline, digest, at, id);
        CREATE INDEX ix_validations_at ON validations (at, id);

        CREATE TABLE validation_results (
            validation_id INTEGER NOT NULL REFERENCES validations (id) ON DELETE CASCADE,
            ordinal       INTEGER NOT NULL,
            kind          TEXT    NOT NULL,
            name          TEXT    NOT NULL,
            passed        INTEGER NOT NULL,
            detail        TEXT    NOT NULL,
            duration_ms   INTEGER NOT NULL,
            PRIMARY KEY (validation_id, ordinal)
        );

        CREATE TABLE promotions (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            pipeline      TEXT    NOT NULL,
            from_stage    TEXT    NOT NULL,
            to_stage      TEXT    NOT NULL,
            source        TEXT    NOT NULL,
            target        TEXT    NOT NULL,
            digest        TEXT    NOT NULL,
            tags          TEXT    NOT NULL,
            validation_id INTEGER NULL,
            actor         TEXT    NOT NULL,
            at            TEXT    NOT NULL,
            bytes_copied  INTEGER NOT NULL,
            blobs_copied  INTEGER NOT NULL,
            blobs_skipped INTEGER NOT NULL,
            recorded_at   TEXT    NOT NULL
        );
        CREATE INDEX ix_promotions_pipeline_at ON promotions (pipeline, at, id);
        CREATE INDEX ix_promotions_at ON promotions (at, id);
        """,

        // 2: the daemon's job queue and each job's log. Enums are stored as their names; a job's
        // request columns never change after insert; job_log sequences start at 1 per job.
        """
        CREATE TABLE jobs (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            kind             TEXT    NOT NULL,
            pipeline         TEXT    NOT NULL,
            digest           TEXT    NULL,
            stage            TEXT    NULL,
            dry_run          INTEGER NOT NULL,
            no_cache         INTEGER NOT NULL,
            requested_by     TEXT    NOT NULL,
            state            TEXT    NOT NULL,
            created_at       TEXT    NOT NULL,
            started_at       TEXT    NULL,
            finished_at      TEXT    NULL,
            attempt          INTEGER NOT NULL,
            cancel_requested INTEGER NOT NULL,
            error            TEXT    NULL,
            exit_code        INTEGER NULL,
            result_json      TEXT    NULL
        );
        CREATE INDEX ix_jobs_state_id ON jobs (state, id);
        CREATE INDEX ix_jobs_pipeline_id ON jobs (pipeline, id);

        CREATE TABLE job_log (
            job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            sequence INTEGER NOT NULL,
            at       TEXT    NOT NULL,
            kind     TEXT    NOT NULL,
            message  TEXT    NOT NULL,
            PRIMARY KEY (job_id, sequence)
        ) WITHOUT ROWID;
        """,

        // 3: the build cache: each pipeline build's cache key (sha256:…, see BuildCacheKey), looked up by
        // subject and key; null for bases and for builds recorded before this step.
        """
        ALTER TABLE builds ADD COLUMN cache_key TEXT NULL;
        CREATE INDEX ix_builds_subject_cache_key ON builds (subject, cache_key, at, id);
        """,

        // 4: a promotion job may ask for its record to be attached as an in-toto statement (promote --attest).
        """
        ALTER TABLE jobs ADD COLUMN attest INTEGER NOT NULL DEFAULT 0;
        """,

        // 5: mount hints (see IMountHintStore): a blob digest seen in a repository of a registry (its
        // scheme://host:port), so a promotion in a new process mounts a layer the target already holds.
        """
        CREATE TABLE mount_hints (
            registry   TEXT NOT NULL,
            digest     TEXT NOT NULL,
            repository TEXT NOT NULL,
            seen_at    TEXT NOT NULL,
            PRIMARY KEY (registry, digest, repository)
        ) WITHOUT ROWID;
        """,

        // 6: the content a job runs (issue 11, item 9): sha256 of the pipeline's definition file and of its
        // lock file. Both null for older jobs; lock_hash alone null when the pipeline has no lock file.
        """
        ALTER TABLE jobs ADD COLUMN definition_hash TEXT NULL;
        ALTER TABLE jobs ADD COLUMN lock_hash TEXT NULL;
        """,

        // 7: job leases (issue 14): who runs a Running job and until when its lease holds without a heartbeat
        // (ISO-8601 UTC text). Written by the PostgreSQL store, where several daemons share one queue; the single
        // daemon on a SQLite file takes an exclusive lock instead and leaves both null. Same step as PostgresSchema's.
        """
        ALTER TABLE jobs ADD COLUMN lease_owner TEXT NULL;
        ALTER TABLE jobs ADD COLUMN lease_expires_at TEXT NULL;
        CREATE INDEX ix_jobs_state_lease ON jobs (state, lease_expires_at);
        """,

        // 8: daemon replicas (issue 14): one row per replica on a shared queue. Written by the PostgreSQL store only; the
        // single daemon on a SQLite file reports itself from memory and leaves the table empty. Same step as PostgresSchema's.
        """
        CREATE TABLE replicas (
            id                TEXT    PRIMARY KEY,
            host              TEXT    NOT NULL,
            pid               INTEGER NOT NULL,
            urls              TEXT    NOT NULL,
            version           TEXT    NOT NULL,
            started_at        TEXT    NOT NULL,
            last_heartbeat_at TEXT    NOT NULL,
            expires_at        TEXT    NOT NULL,
            holds_watcher     INTEGER NOT NULL
        );
        CREATE INDEX ix_jobs_lease_owner ON jobs (lease_owner);
        """,
    ];
}
