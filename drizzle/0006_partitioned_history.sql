-- driver_locations becomes a table partitioned by recorded_at: one partition
-- per UTC day, created ahead by the hub and dropped whole once older than
-- HISTORY_RETENTION_DAYS (hub_maintain_history below; src/store/history.ts).
--
-- The existing table is not copied: it is renamed and attached whole as the
-- first partition, covering everything before tomorrow (UTC). ATTACH reads it
-- once to check that bound and writes nothing. Rows dated tomorrow or later
-- (device clocks running ahead) move to the default partition first.
ALTER TABLE "driver_locations" RENAME TO "driver_locations_legacy";--> statement-breakpoint
ALTER INDEX "driver_locations_track" RENAME TO "driver_locations_legacy_track";--> statement-breakpoint
CREATE TABLE "driver_locations" (
	"driver_id" integer NOT NULL,
	"seq" bigint NOT NULL,
	"lat" double precision NOT NULL,
	"lng" double precision NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL
) PARTITION BY RANGE ("recorded_at");--> statement-breakpoint
-- A partitioned index: every partition gets its own (driver_id, recorded_at) index, the one a track read uses.
CREATE INDEX "driver_locations_track" ON "driver_locations" USING btree ("driver_id","recorded_at");--> statement-breakpoint
-- The safety net: a frame dated outside every daily partition (a device clock
-- days ahead) lands here instead of failing its whole batch. When the day it
-- belongs to gets its partition, the hub moves such rows there.
CREATE TABLE "driver_locations_default" PARTITION OF "driver_locations" DEFAULT;--> statement-breakpoint
DO $$
DECLARE
  upper_bound timestamptz := date_trunc('day', now(), 'UTC') + interval '24 hours';
BEGIN
  INSERT INTO driver_locations_default SELECT * FROM driver_locations_legacy WHERE recorded_at >= upper_bound;
  DELETE FROM driver_locations_legacy WHERE recorded_at >= upper_bound;
  EXECUTE format('ALTER TABLE driver_locations ATTACH PARTITION driver_locations_legacy FOR VALUES FROM (MINVALUE) TO (%L)', upper_bound);
END
$$;--> statement-breakpoint
-- Every partition of driver_locations with its range; from_at is -infinity
-- for MINVALUE, and both are null for the default partition. Bounds are read
-- back from the catalog's own text, which the same session parses exactly.
CREATE OR REPLACE FUNCTION hub_history_partitions()
RETURNS TABLE (name text, from_at timestamptz, to_at timestamptz, is_default boolean)
LANGUAGE sql STABLE
AS $$
  SELECT
    c.relname::text,
    CASE WHEN b.bound = 'DEFAULT' THEN NULL
         WHEN b.bound LIKE 'FOR VALUES FROM (MINVALUE)%' THEN '-infinity'::timestamptz
         ELSE (regexp_match(b.bound, 'FROM \(''([^'']*)''\)'))[1]::timestamptz END,
    CASE WHEN b.bound = 'DEFAULT' THEN NULL
         WHEN b.bound LIKE '%TO (MAXVALUE)' THEN 'infinity'::timestamptz
         ELSE (regexp_match(b.bound, 'TO \(''([^'']*)''\)'))[1]::timestamptz END,
    b.bound = 'DEFAULT'
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
  WHERE i.inhparent = 'driver_locations'::regclass
$$;--> statement-breakpoint
-- One maintenance pass, as one statement so that it is one round trip and
-- runs the same on PostgreSQL and PGlite:
--  1. every UTC day from today to today + ahead_days gets a partition, and so
--     does every later-than-retention day the default partition holds rows
--     for (moved out of it in the same step: ATTACH refuses a range the
--     default partition still has rows in);
--  2. with retention_days > 0, every partition whose range ends at or before
--     now - retention_days is dropped whole: no DELETE, no dead rows.
-- A step that cannot get its lock within lock_timeout (a long read on the
-- table) is skipped and reported as 'busy', so ingest never queues behind
-- maintenance for long; the next pass retries it. Several hubs may call this
-- at once: whoever holds the advisory lock does the pass, the others return
-- nothing.
CREATE OR REPLACE FUNCTION hub_maintain_history(now_at timestamptz, ahead_days int, retention_days int)
RETURNS TABLE (action text, partition_name text, rows_moved bigint)
LANGUAGE plpgsql
SET lock_timeout = '500ms'
AS $$
DECLARE
  today timestamptz := date_trunc('day', now_at, 'UTC');
  horizon timestamptz := date_trunc('day', now_at, 'UTC') + make_interval(hours => 24 * (ahead_days + 1));
  floor_at timestamptz := CASE WHEN retention_days > 0 THEN now_at - make_interval(hours => 24 * retention_days) END;
  day_start timestamptz;
  day_end timestamptz;
  target text;
  moved bigint;
  expired record;
BEGIN
  IF NOT pg_try_advisory_xact_lock(72100432) THEN
    RETURN;
  END IF;
  FOR day_start IN
    SELECT d FROM generate_series(today, horizon - interval '24 hours', interval '24 hours') AS d
    UNION
    SELECT DISTINCT date_trunc('day', recorded_at, 'UTC') FROM driver_locations_default
      WHERE recorded_at < horizon AND (floor_at IS NULL OR recorded_at >= date_trunc('day', floor_at, 'UTC'))
    ORDER BY 1
  LOOP
    day_end := day_start + interval '24 hours';
    CONTINUE WHEN EXISTS (
      SELECT 1 FROM hub_history_partitions() p
      WHERE NOT p.is_default AND p.from_at < day_end AND p.to_at > day_start
    );
    CONTINUE WHEN floor_at IS NOT NULL AND day_end <= floor_at;
    target := 'driver_locations_p' || to_char(day_start AT TIME ZONE 'UTC', 'YYYYMMDD');
    BEGIN
      EXECUTE format('CREATE TABLE %I (LIKE driver_locations INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', target);
      EXECUTE format(
        'WITH moved AS (DELETE FROM driver_locations_default WHERE recorded_at >= %L AND recorded_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
        day_start, day_end, target);
      GET DIAGNOSTICS moved = ROW_COUNT;
      EXECUTE format('ALTER TABLE driver_locations ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', target, day_start, day_end);
      action := 'created'; partition_name := target; rows_moved := moved;
      RETURN NEXT;
    EXCEPTION WHEN lock_not_available THEN
      action := 'busy'; partition_name := target; rows_moved := 0;
      RETURN NEXT;
    END;
  END LOOP;
  IF floor_at IS NULL THEN
    RETURN;
  END IF;
  FOR expired IN SELECT p.name FROM hub_history_partitions() p WHERE NOT p.is_default AND p.to_at <= floor_at ORDER BY p.to_at LOOP
    BEGIN
      EXECUTE format('DROP TABLE %I', expired.name);
      action := 'dropped'; partition_name := expired.name; rows_moved := 0;
      RETURN NEXT;
    EXCEPTION WHEN lock_not_available THEN
      action := 'busy'; partition_name := expired.name; rows_moved := 0;
      RETURN NEXT;
    END;
  END LOOP;
END
$$;
