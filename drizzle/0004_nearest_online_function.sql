-- The SQL fallback's nearest-neighbour query, as a function so that it can pin
-- its plan. PostgreSQL estimates `cube <@ box` at a fixed 0.1% of rows, so in a
-- dense city it picks a bitmap scan of every driver in the box plus a sort
-- (5.8 ms for 5k drivers at 100k) over the GiST KNN scan that stops after
-- `fetch_rows` (0.6 ms). SET enable_bitmapscan = off applies to this body only.
CREATE OR REPLACE FUNCTION hub_nearest_online(
  ox float8, oy float8, oz float8,
  box_chord float8, exact_chord float8,
  fresh_since timestamptz, vehicle text, min_rating float8, fetch_rows int
)
RETURNS TABLE (id int, name text, vehicle_type vehicle_type, rating float8, status driver_status, lat float8, lng float8, snapped_chord float8)
LANGUAGE sql STABLE
SET enable_bitmapscan = off
AS $$
  SELECT d.id, d.name, d.vehicle_type, d.rating, d.status, d.lat, d.lng, d.pos <-> cube(ARRAY[ox, oy, oz])
  FROM drivers d
  WHERE d.status = 'online'
    AND d.pos <@ cube_enlarge(cube(ARRAY[ox, oy, oz]), box_chord, 3)
    AND cube(ARRAY[cos(radians(d.lat)) * cos(radians(d.lng)), cos(radians(d.lat)) * sin(radians(d.lng)), sin(radians(d.lat))]) <-> cube(ARRAY[ox, oy, oz]) <= exact_chord
    AND d.updated_at >= fresh_since
    AND (vehicle IS NULL OR d.vehicle_type = vehicle::vehicle_type)
    AND (min_rating IS NULL OR d.rating >= min_rating)
  ORDER BY d.pos <-> cube(ARRAY[ox, oy, oz])
  LIMIT fetch_rows
$$;
