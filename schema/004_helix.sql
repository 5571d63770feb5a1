-- 004_helix.sql: what the Helix sender needs beyond 001's outbox.
--
-- The outbox design of 001 stands (one row per sale, state machine
-- pending -> inflight -> sent | failed, UNIQUE (camera_id, time_ms) so that
-- two sales never share a triple).  This adds:
--   run_id       the run that last queued or changed the row, for tracing
--   footage_due  an event was created with ETL_HELIX_FOOTAGE_LINKS on and its
--                footage link is not stored yet: the next send fetches it
--                (kept apart from state so that a missing link never holds
--                back or re-sends an event)
--   base_ms      the sale's own time (transaction_date in epoch ms) before
--                time_ms moved forward past slots taken on its camera, so
--                that a re-queued sale can tell whether its date changed
--   updated_at   when the row last changed state, for `etl status` and
--                for looking at a stuck 'inflight' row by hand

ALTER TABLE helix_outbox
    ADD COLUMN run_id      bigint REFERENCES runs,
    ADD COLUMN footage_due boolean NOT NULL DEFAULT false,
    ADD COLUMN base_ms     bigint,
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();

-- The sender picks footage work from here; normally empty.
CREATE INDEX helix_outbox_footage_idx ON helix_outbox (transaction_id) WHERE footage_due;

-- Checked again here because 001 left them implicit: an event that exists
-- on the server (sent_attributes set) always has its event type's uid, and
-- a row is never 'inflight' without one (the triple must be known to GET it).
ALTER TABLE helix_outbox
    ADD CONSTRAINT helix_outbox_uid_known
    CHECK (event_type_uid IS NOT NULL OR (state IN ('pending', 'failed') AND sent_attributes IS NULL));
