ALTER TABLE "driver_locations" DROP CONSTRAINT "driver_locations_driver_id_drivers_id_fk";
--> statement-breakpoint
ALTER TABLE "driver_locations" DROP CONSTRAINT "driver_locations_driver_id_seq_pk";--> statement-breakpoint
ALTER TABLE "drivers" drop column "pos";--> statement-breakpoint
ALTER TABLE "drivers" ADD COLUMN "pos" "cube" GENERATED ALWAYS AS (CASE WHEN lat IS NULL OR lng IS NULL THEN NULL ELSE cube(ARRAY[cos(radians(round(lat * 1000.0) / 1000.0)) * cos(radians(round(lng * 1000.0) / 1000.0)), cos(radians(round(lat * 1000.0) / 1000.0)) * sin(radians(round(lng * 1000.0) / 1000.0)), sin(radians(round(lat * 1000.0) / 1000.0))]) END) STORED;--> statement-breakpoint
-- Dropping the column dropped its index; recreate it on the snapped position.
CREATE INDEX "drivers_online_pos_gist" ON "drivers" USING gist ("pos") WHERE status = 'online';--> statement-breakpoint
-- Room on each page for a new row version, so a position update can stay on its page (HOT).
ALTER TABLE "drivers" SET (fillfactor = 70);
