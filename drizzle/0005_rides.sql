CREATE TYPE "public"."offer_answer" AS ENUM('accepted', 'lost', 'declined', 'expired', 'taken', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."ride_status" AS ENUM('requested', 'assigned', 'arrived', 'started', 'completed', 'cancelled', 'unmatched');--> statement-breakpoint
CREATE TABLE "offers" (
	"ride_id" uuid NOT NULL,
	"driver_id" integer NOT NULL,
	"wave" smallint NOT NULL,
	"distance_km" double precision NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"answer" "offer_answer",
	"answered_at" timestamp with time zone,
	CONSTRAINT "offers_ride_id_driver_id_pk" PRIMARY KEY("ride_id","driver_id")
);
--> statement-breakpoint
CREATE TABLE "rides" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rider_id" text NOT NULL,
	"driver_id" integer,
	"status" "ride_status" DEFAULT 'requested' NOT NULL,
	"pickup_lat" double precision NOT NULL,
	"pickup_lng" double precision NOT NULL,
	"dropoff_lat" double precision,
	"dropoff_lng" double precision,
	"vehicle_type" "vehicle_type",
	"wave" smallint DEFAULT 0 NOT NULL,
	"wave_deadline" timestamp with time zone,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"assigned_at" timestamp with time zone,
	"arrived_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"unmatched_at" timestamp with time zone,
	"cancelled_by" text,
	"cancel_reason" text,
	CONSTRAINT "rides_driver_once_assigned" CHECK (driver_id IS NOT NULL OR status IN ('requested', 'unmatched', 'cancelled')),
	CONSTRAINT "rides_cancelled_by" CHECK (cancelled_by IS NULL OR cancelled_by IN ('rider', 'driver'))
);
--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_ride_id_rides_id_fk" FOREIGN KEY ("ride_id") REFERENCES "public"."rides"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_driver_id_drivers_id_fk" FOREIGN KEY ("driver_id") REFERENCES "public"."drivers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rides" ADD CONSTRAINT "rides_driver_id_drivers_id_fk" FOREIGN KEY ("driver_id") REFERENCES "public"."drivers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "offers_one_open_per_driver" ON "offers" USING btree ("driver_id") WHERE answer IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "rides_one_open_per_driver" ON "rides" USING btree ("driver_id") WHERE status IN ('assigned', 'arrived', 'started');--> statement-breakpoint
CREATE UNIQUE INDEX "rides_one_open_per_rider" ON "rides" USING btree ("rider_id") WHERE status IN ('requested', 'assigned', 'arrived', 'started');--> statement-breakpoint
CREATE INDEX "rides_waves_due" ON "rides" USING btree ("wave_deadline") WHERE status = 'requested';