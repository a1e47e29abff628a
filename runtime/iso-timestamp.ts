/**
 * A strict, allocation-free ISO-8601 timestamp parser for the hot path.
 *
 * `Date.parse` accepts too much (it rolls `2025-02-30` over to March and takes many non-ISO forms),
 * so event times are parsed by hand: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. That covers
 * JavaScript's `toISOString()` (`2025-01-01T00:00:00.000Z`) and Python's `isoformat()` on an aware
 * UTC datetime (`2025-01-01T00:00:00.123456+00:00`), which is what the original producers send.
 */

/** Years outside this range are rejected: bounded, and safely inside `Date`'s range. */
export const TIMESTAMP_YEAR_MIN = 1970;
export const TIMESTAMP_YEAR_MAX = 9999;
/** Longest accepted text: 19 + `.` + 9 fraction digits + `+00:00`. */
const TIMESTAMP_LENGTH_MAX = 35;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i) - 48;
    if (code < 0 || code > 9) return -1;
    value = value * 10 + code;
  }
  return value;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Milliseconds since the epoch of an ISO-8601 timestamp with an explicit zone, or NaN when the
 * text is not one (wrong shape, impossible date such as Feb 30, hour 24, leap second, no zone).
 * Fractions beyond milliseconds are truncated.
 *
 * @example parseIsoTimestampMs("2025-01-01T00:00:00.123456+00:00") // 1735689600123
 */
export function parseIsoTimestampMs(text: string): number {
  const length = text.length;
  if (length < 20 || length > TIMESTAMP_LENGTH_MAX) return Number.NaN;
  if (
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58
  ) {
    return Number.NaN;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < TIMESTAMP_YEAR_MIN || year > TIMESTAMP_YEAR_MAX) return Number.NaN;
  if (month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return Number.NaN;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return Number.NaN;
  const monthDays = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day > monthDays) return Number.NaN;

  let i = 19;
  let millis = 0;
  if (text.charCodeAt(i) === 46) {
    // A fraction of 1 to 9 digits; keep the first three as milliseconds.
    i++;
    const fractionStart = i;
    while (i < length && i - fractionStart < 10) {
      const code = text.charCodeAt(i) - 48;
      if (code < 0 || code > 9) break;
      if (i - fractionStart < 3) millis = millis * 10 + code;
      i++;
    }
    const fractionDigits = i - fractionStart;
    if (fractionDigits < 1 || fractionDigits > 9) return Number.NaN;
    if (fractionDigits === 1) millis *= 100;
    else if (fractionDigits === 2) millis *= 10;
  }

  let offsetMinutes = 0;
  const zone = text.charCodeAt(i);
  if (zone === 90 && i + 1 === length) {
    // Z
  } else if ((zone === 43 || zone === 45) && i + 6 === length && text.charCodeAt(i + 3) === 58) {
    const offsetHours = digitsAt(text, i + 1, 2);
    const offsetMins = digitsAt(text, i + 4, 2);
    if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return Number.NaN;
    offsetMinutes = (zone === 45 ? -1 : 1) * (offsetHours * 60 + offsetMins);
  } else {
    return Number.NaN;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

/** Whether `text` is a timestamp {@link parseIsoTimestampMs} accepts. */
export function isIsoTimestamp(text: string): boolean {
  return !Number.isNaN(parseIsoTimestampMs(text));
}
