/**
 * Great-circle geometry shared by the simulator and the features, so both measure alike.
 */

export const EARTH_RADIUS_KM = 6371.0088;
const RADIANS = Math.PI / 180;

/** Great-circle distance in km between two points given in degrees (haversine). */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RADIANS;
  const dLon = (lon2 - lon1) * RADIANS;
  const a =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(lat1 * RADIANS) * Math.cos(lat2 * RADIANS) * Math.sin(dLon / 2) ** 2;
  // min() guards against rounding pushing `a` past 1 for antipodal points.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * The point at `distanceKm` from a start along a bearing (degrees clockwise from north), with the
 * longitude wrapped to [-180, 180].
 */
export function destinationPoint(
  lat: number,
  lon: number,
  bearingDeg: number,
  distanceKm: number,
): { lat: number; lon: number } {
  const angular = distanceKm / EARTH_RADIUS_KM;
  const bearing = bearingDeg * RADIANS;
  const lat1 = lat * RADIANS;
  const lon1 = lon * RADIANS;
  const lat2 = Math.asin(
    Math.sin(lat1) * Math.cos(angular) + Math.cos(lat1) * Math.sin(angular) * Math.cos(bearing),
  );
  const lon2 =
    lon1 +
    Math.atan2(
      Math.sin(bearing) * Math.sin(angular) * Math.cos(lat1),
      Math.cos(angular) - Math.sin(lat1) * Math.sin(lat2),
    );
  const lonDeg = ((((lon2 / RADIANS + 180) % 360) + 360) % 360) - 180;
  return { lat: lat2 / RADIANS, lon: lonDeg };
}

/** Unit vector on the sphere for a point in degrees; averaging these has no dateline problem. */
export function toUnitVector(lat: number, lon: number): [number, number, number] {
  const phi = lat * RADIANS;
  const lambda = lon * RADIANS;
  return [Math.cos(phi) * Math.cos(lambda), Math.cos(phi) * Math.sin(lambda), Math.sin(phi)];
}

/** Latitude and longitude in degrees of a (not necessarily unit) vector; (0, 0) for the zero vector. */
export function fromVector(x: number, y: number, z: number): { lat: number; lon: number } {
  const horizontal = Math.sqrt(x * x + y * y);
  if (horizontal === 0 && z === 0) return { lat: 0, lon: 0 };
  return { lat: Math.atan2(z, horizontal) / RADIANS, lon: Math.atan2(y, x) / RADIANS };
}
