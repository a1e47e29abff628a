/**
 * Where the simulated world lives: cities with their currency, UTC offset (standard time; daylight
 * saving is ignored) and a population weight. Cardholders live in these; fraud rings operate from
 * {@link FRAUD_CITIES} as well.
 */
import type { Currency } from "../schema.ts";

export interface City {
  name: string;
  lat: number;
  lon: number;
  currency: Currency;
  utcOffsetHours: number;
  weight: number;
}

const city = (
  name: string,
  lat: number,
  lon: number,
  currency: Currency,
  utcOffsetHours: number,
  weight: number,
): City => ({ name, lat, lon, currency, utcOffsetHours, weight });

export const CITIES: readonly City[] = [
  city("New York", 40.71, -74.01, "USD", -5, 8),
  city("Los Angeles", 34.05, -118.24, "USD", -8, 5),
  city("Chicago", 41.88, -87.63, "USD", -6, 4),
  city("Houston", 29.76, -95.37, "USD", -6, 3),
  city("Miami", 25.76, -80.19, "USD", -5, 2),
  city("Seattle", 47.61, -122.33, "USD", -8, 2),
  city("San Francisco", 37.77, -122.42, "USD", -8, 2),
  city("Atlanta", 33.75, -84.39, "USD", -5, 2),
  city("Denver", 39.74, -104.99, "USD", -7, 1.5),
  city("Boston", 42.36, -71.06, "USD", -5, 2),
  city("Toronto", 43.65, -79.38, "CAD", -5, 3),
  city("Vancouver", 49.28, -123.12, "CAD", -8, 1.5),
  city("Montreal", 45.5, -73.57, "CAD", -5, 2),
  city("London", 51.51, -0.13, "GBP", 0, 6),
  city("Manchester", 53.48, -2.24, "GBP", 0, 2),
  city("Edinburgh", 55.95, -3.19, "GBP", 0, 1),
  city("Paris", 48.86, 2.35, "EUR", 1, 5),
  city("Berlin", 52.52, 13.4, "EUR", 1, 3),
  city("Madrid", 40.42, -3.7, "EUR", 1, 3),
  city("Rome", 41.9, 12.5, "EUR", 1, 2),
  city("Amsterdam", 52.37, 4.9, "EUR", 1, 2),
  city("Lisbon", 38.72, -9.14, "EUR", 0, 1.5),
  city("Munich", 48.14, 11.58, "EUR", 1, 1.5),
  city("Dublin", 53.35, -6.26, "EUR", 0, 1),
  city("Milan", 45.46, 9.19, "EUR", 1, 1.5),
  city("Vienna", 48.21, 16.37, "EUR", 1, 1),
  city("Tokyo", 35.68, 139.69, "JPY", 9, 8),
  city("Osaka", 34.69, 135.5, "JPY", 9, 3),
  city("Nagoya", 35.18, 136.91, "JPY", 9, 1.5),
  city("Sydney", -33.87, 151.21, "AUD", 10, 3),
  city("Melbourne", -37.81, 144.96, "AUD", 10, 3),
  city("Brisbane", -27.47, 153.03, "AUD", 10, 1.5),
  city("Perth", -31.95, 115.86, "AUD", 8, 1),
  city("Sao Paulo", -23.55, -46.63, "BRL", -3, 6),
  city("Rio de Janeiro", -22.91, -43.17, "BRL", -3, 4),
  city("Brasilia", -15.79, -47.88, "BRL", -3, 1.5),
  city("Belo Horizonte", -19.92, -43.94, "BRL", -3, 1.5),
  city("Salvador", -12.97, -38.5, "BRL", -3, 1),
];

/** Where fraud rings operate from: some far from every cardholder, some inside the world. */
export const FRAUD_CITIES: readonly City[] = [
  city("Lagos", 6.52, 3.38, "USD", 1, 1),
  city("Bucharest", 44.43, 26.1, "EUR", 2, 1),
  city("Moscow", 55.76, 37.62, "EUR", 3, 1),
  city("Manila", 14.6, 120.98, "USD", 8, 1),
  city("Jakarta", -6.21, 106.85, "USD", 7, 1),
  city("Kyiv", 50.45, 30.52, "EUR", 2, 1),
  city("Mumbai", 19.08, 72.88, "USD", 5.5, 1),
  city("Ho Chi Minh City", 10.82, 106.63, "USD", 7, 1),
  city("Shenzhen", 22.54, 114.06, "USD", 8, 1),
  city("Mexico City", 19.43, -99.13, "USD", -6, 1),
  city("Caracas", 10.48, -66.9, "USD", -4, 1),
  city("Istanbul", 41.01, 28.98, "EUR", 3, 1),
  city("Miami", 25.76, -80.19, "USD", -5, 1),
  city("Los Angeles", 34.05, -118.24, "USD", -8, 1),
  city("London", 51.51, -0.13, "GBP", 0, 1),
  city("Sao Paulo", -23.55, -46.63, "BRL", -3, 1),
];

/** Units of each currency per US dollar: amounts are drawn in USD, then converted. */
export const CURRENCY_PER_USD: Record<Currency, number> = {
  USD: 1,
  EUR: 0.92,
  GBP: 0.79,
  JPY: 150,
  CAD: 1.36,
  AUD: 1.52,
  BRL: 5,
};

/** Rounds an amount in `currency` the way it is charged (whole yen, cents otherwise). */
export function roundAmount(amount: number, currency: Currency): number {
  return currency === "JPY" ? Math.round(amount) : Math.round(amount * 100) / 100;
}

/** An amount in US dollars expressed in `currency`. */
export function toCurrencyUnits(usd: number, currency: Currency): number {
  return usd * CURRENCY_PER_USD[currency];
}
