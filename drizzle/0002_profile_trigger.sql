-- Caches refresh driver profiles incrementally by profile_updated_at. A trigger
-- keeps it honest for every writer, including people editing rows by hand.
CREATE OR REPLACE FUNCTION drivers_touch_profile() RETURNS trigger AS $$
BEGIN
  NEW.profile_updated_at := clock_timestamp();
  RETURN NEW;
END
$$ LANGUAGE plpgsql;
--> statement-breakpoint
DROP TRIGGER IF EXISTS drivers_profile_changed ON drivers;
--> statement-breakpoint
CREATE TRIGGER drivers_profile_changed
  BEFORE UPDATE ON drivers
  FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name
     OR OLD.phone IS DISTINCT FROM NEW.phone
     OR OLD.vehicle_type IS DISTINCT FROM NEW.vehicle_type
     OR OLD.rating IS DISTINCT FROM NEW.rating
     OR OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION drivers_touch_profile();
