namespace Orchestrator.State.Postgres;

/// <summary>
/// The schema as forward-only migrations, step for step the logical schema of the SQLite store's
/// <c>Orchestrator.State.Schema</c>: step N here holds the same tables and columns as step N there, in
/// PostgreSQL's types, so one schema version number means one shape on either store. The version is the
/// single row of <c>schema_version</c> (SQLite keeps it in <c>PRAGMA user_version</c>). A released step is
/// never edited; a change is a new step appended at the end of both lists.
/// </summary>
/// <remarks>
/// Types: ids are <c>bigint GENERATED ALWAYS AS IDENTITY</c>, flags <c>boolean</c>, counts <c>bigint</c>.
/// Timestamps stay ISO-8601 UTC text with 7 fraction digits, as in SQLite: the times come from the
/// process's <see cref="TimeProvider"/> (never the server's clock), text order is time order, and a
/// <see cref="DateTimeOffset"/> round-trips to the tick, where <c>timestamptz</c> would keep microseconds.
/// Objects PostgreSQL alone needs (the job change counter and its trigger) live in the step of the table
/// they serve and change no logical shape.
/// </remarks>
internal static class PostgresSchema
{
    internal static IReadOnlyList<string> Migrations { get; } =
    [
        // 1: builds, validations with one row per test result, promotions.
        """
        CREATE TABLE builds (
            id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            subject       text    NOT NULL,
            kind          text    NOT NULL,
            stage         text    NOT NULL,
            reference     text    NOT NULL,
            digest        text    NOT NULL,
            tags          text    NOT NULL,
            version       text    NOT NULL,
            base_digest   text    NULL,
            actor         text    NOT NULL,
            at            text    NOT NULL,
            duration_ms   bigint  NOT NULL,
            recorded_at   text    NOT NULL
        );
        CREATE INDEX ix_builds_subject_at ON builds (subject, at, id);
        CREATE INDEX ix_builds_at ON builds (at, id);

        CREATE TABLE validations (
            id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            pipeline      text    NOT NULL,
            stage         text    NOT NULL,
            reference     text    NOT NULL,
            digest        text    NOT NULL,
            passed        boolean NOT NULL,
            actor         text    NOT NULL,
            at            text    NOT NULL,
            duration_ms   bigint  NOT NULL,
            recorded_at   text    NOT NULL
        );
        CREATE INDEX ix_validations_pipeline_digest_at ON validations (pipeline, digest, at, id);
        CREATE INDEX ix_validations_at ON validations (at, id);

        CREATE TABLE validation_results (
            validation_id bigint  NOT NULL REFERENCES validations (id) ON DELETE CASCADE,
            ordinal       integer NOT NULL,
            kind          text    NOT NULL,
            name          text    NOT NULL,
            passed        boolean NOT NULL,
            detail        text    NOT NULL,
            duration_ms   bigint  NOT NULL,
            PRIMARY KEY (validation_id, ordinal)
        );

        CREATE TABLE promotions (
            id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            pipeline      text    NOT NULL,
            from_stage    text    NOT NULL,
            to_stage      text    NOT NULL,
            source        text    NOT NULL,
            target        text    NOT NULL,
            digest        text    NOT NULL,
            tags          text    NOT NULL,
            validation_id bigint  NULL,
            actor         text    NOT NULL,
            at            text    NOT NULL,
            bytes_copied  bigint  NOT NULL,
            blobs_copied  integer NOT NULL,
            blobs_skipped integer NOT NULL,
            recorded_at   text    NOT NULL
        );
        CREATE INDEX ix_promotions_pipeline_at ON promotions (pipeline, at, id);
        CREATE INDEX ix_promotions_at ON promotions (at, id);
        """,

        // 2: the daemon's job queue and each job's log, plus the change counter of the jobs (see PostgresJobChanges):
        // one row whose version a statement trigger bumps in the same transaction as any write to jobs, so it moves
        // exactly when a job change commits. The epoch tells a recreated database from the old one.
        """
        CREATE TABLE jobs (
            id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind             text    NOT NULL,
            pipeline         text    NOT NULL,
            digest           text    NULL,
            stage            text    NULL,
            dry_run          boolean NOT NULL,
            no_cache         boolean NOT NULL,
            requested_by     text    NOT NULL,
            state            text    NOT NULL,
            created_at       text    NOT NULL,
            started_at       text    NULL,
            finished_at      text    NULL,
            attempt          integer NOT NULL,
            cancel_requested boolean NOT NULL,
            error            text    NULL,
            exit_code        integer NULL,
            result_json      text    NULL
        );
        CREATE INDEX ix_jobs_state_id ON jobs (state, id);
        CREATE INDEX ix_jobs_pipeline_id ON jobs (pipeline, id);

        CREATE TABLE job_log (
            job_id   bigint  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            sequence bigint  NOT NULL,
            at       text    NOT NULL,
            kind     text    NOT NULL,
            message  text    NOT NULL,
            PRIMARY KEY (job_id, sequence)
        );

        CREATE TABLE job_changes (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            epoch    text    NOT NULL,
            version  bigint  NOT NULL
        );
        INSERT INTO job_changes (epoch, version) VALUES (md5(random()::text || clock_timestamp()::text), 0);
        CREATE FUNCTION bump_job_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE job_changes SET version = version + 1;
            RETURN NULL;
        END $$;
        CREATE TRIGGER jobs_changed AFTER INSERT OR UPDATE OR DELETE ON jobs
            FOR EACH STATEMENT EXECUTE FUNCTION bump_job_changes();
        """,

        // 3: the build cache key of each pipeline build.
        """
        ALTER TABLE builds ADD COLUMN cache_key text NULL;
        CREATE INDEX ix_builds_subject_cache_key ON builds (subject, cache_key, at, id);
        """,

        // 4: a promotion job may ask for its record to be attached as an in-toto statement (promote --attest).
        """
        ALTER TABLE jobs ADD COLUMN attest boolean NOT NULL DEFAULT false;
        """,

        // 5: mount hints (see IMountHintStore).
        """
        CREATE TABLE mount_hints (
            registry   text NOT NULL,
            digest     text NOT NULL,
            repository text NOT NULL,
            seen_at    text NOT NULL,
            PRIMARY KEY (registry, digest, repository)
        );
        """,

        // 6: the content a job runs: sha256 of the pipeline's definition file and of its lock file.
        """
        ALTER TABLE jobs ADD COLUMN definition_hash text NULL;
        ALTER TABLE jobs ADD COLUMN lock_hash text NULL;
        """,

        // 7: job leases (issue 14): who runs a Running job and until when its lease holds without a heartbeat.
        """
        ALTER TABLE jobs ADD COLUMN lease_owner text NULL;
        ALTER TABLE jobs ADD COLUMN lease_expires_at text NULL;
        CREATE INDEX ix_jobs_state_lease ON jobs (state, lease_expires_at);
        """,

        // 8: daemon replicas (issue 14): each replica's row, its heartbeat and expiry, and whether it holds the watcher lock.
        """
        CREATE TABLE replicas (
            id                text    PRIMARY KEY,
            host              text    NOT NULL,
            pid               integer NOT NULL,
            urls              text    NOT NULL,
            version           text    NOT NULL,
            started_at        text    NOT NULL,
            last_heartbeat_at text    NOT NULL,
            expires_at        text    NOT NULL,
            holds_watcher     boolean NOT NULL
        );
        CREATE INDEX ix_jobs_lease_owner ON jobs (lease_owner);
        """,
    ];
}
