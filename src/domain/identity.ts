/** Who is on the other end of a connection, as decided at the WebSocket upgrade. */
export type Identity = { role: 'driver'; driverId: number } | { role: 'rider'; riderId: string };

export type Role = Identity['role'];
