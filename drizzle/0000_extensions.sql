-- cube gives the GiST nearest-neighbour index on drivers.pos (see src/store/schema.ts).
CREATE EXTENSION IF NOT EXISTS cube;
